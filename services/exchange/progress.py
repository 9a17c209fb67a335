"""Whether the inbox's partitions move: a partition whose position has not changed while
records wait beyond it (its end, the high watermark, is past the position) for longer than
`STALL_SECONDS` is stalled, and the node is not ready (`/readyz`). A paused partition is
not stalled: its pause is the bound working, and says so apart."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

STALL_SECONDS = 60.0

P = TypeVar("P")


@dataclass
class Progress(Generic[P]):
    """Each partition's position and since when it has stood there with records waiting."""

    clock: Callable[[], float]
    threshold: float = STALL_SECONDS
    _standing: dict[P, tuple[int, float]] = field(default_factory=dict)  # position, since

    def observe(self, partition: P, position: int | None, end: int | None) -> None:
        """Where the partition stands now and where its log ends (None: not known)."""
        now = self.clock()
        if position is None or end is None or end <= position:
            self._standing.pop(partition, None)  # nothing waits: it is not behind
            return
        before = self._standing.get(partition)
        if before is None or before[0] != position:
            self._standing[partition] = (position, now)

    def forget(self, keep: Iterable[P] = ()) -> None:
        """Only the partitions in `keep` are still this member's."""
        kept = set(keep)
        self._standing = {p: s for p, s in self._standing.items() if p in kept}

    def stalled(self, paused: Iterable[P] = ()) -> dict[P, tuple[int, float]]:
        """The partitions behind for longer than the threshold: position and seconds."""
        now, excluded = self.clock(), set(paused)
        return {p: (position, now - since) for p, (position, since) in self._standing.items()
                if p not in excluded and now - since > self.threshold}
