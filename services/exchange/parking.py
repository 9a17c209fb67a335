"""Messages refused for a passing reason (`admission.TRANSIENT`: the case kept changing, a
key listed from a later time), set aside and tried again with backoff (0.5 s, doubling, at
most 30 s) while the inbox reads on; after `patience` they are dead-lettered (the sender
sends again until receipted; an operator can replay them). Bounded per sender and in all
(`ParkingLimits`): beyond, a message is dead-lettered at once. No offset is committed past a
parked message."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

PARKED_PATIENCE = 600.0
FIRST_WAIT, LONGEST_WAIT = 0.5, 30.0

Where = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True)
class ParkingLimits:
    """How many messages refused for a passing reason the inbox sets aside, per sender and
    in all. Beyond it a message is dead-lettered at once (its sender sends it again until
    it is receipted; an operator can replay it)."""

    per_sender: int = 100
    total: int = 1000

    def full(self, sender: str, parked: list[str]) -> str | None:
        """Why one more message of `sender` may not be parked beside `parked` (their
        senders), or None."""
        if len(parked) >= self.total:
            return f"{len(parked)} messages set aside already, the bound"
        if sum(1 for s in parked if s == sender) >= self.per_sender:
            return f"{self.per_sender} messages of {sender} set aside already, the bound"
        return None


@dataclass
class Parked:
    """A message refused for a passing reason, set aside and tried again with backoff."""

    record: Any  # the ConsumerRecord
    sender: str
    reason: str
    since: float  # monotonic
    next_try: float
    tries: int


class Parking:
    def __init__(self, bound: ParkingLimits | None = None,
                 patience: float = PARKED_PATIENCE) -> None:
        self.parked: dict[Where, Parked] = {}
        self.bound, self.patience = bound or ParkingLimits(), patience

    def set_aside(self, record: Any, reason: str, sender: str, now: float) -> str | None:
        """Parks the record (again) and returns None, or returns why it is dead-lettered
        instead: beyond the bound, or parked longer than the patience."""
        key = (record.topic, record.partition, record.offset)
        before = self.parked.get(key)
        if before is None:
            full = self.bound.full(sender, [p.sender for p in self.parked.values()])
            if full is not None:
                return f"{reason} ({full})"
        since, tries = (before.since, before.tries) if before is not None else (now, 0)
        if now - since > self.patience:
            self.parked.pop(key, None)
            return f"{reason} (still after {self.patience:g} s)"
        wait = min(FIRST_WAIT * 2 ** min(tries, 10), LONGEST_WAIT)
        self.parked[key] = Parked(record, sender, reason, since, now + wait, tries + 1)
        return None

    def due(self, now: float) -> list[tuple[Where, Parked]]:
        """The parked messages whose next try has come."""
        return [(key, p) for key, p in self.parked.items() if p.next_try <= now]

    def remove(self, key: Where) -> None:
        self.parked.pop(key, None)

    def offsets(self, topic: str, partition: int) -> list[int]:
        """The offsets parked on a partition: no commit passes them."""
        return [o for t, p, o in self.parked if (t, p) == (topic, partition)]

    def at_bound(self) -> bool:
        senders = Counter(p.sender for p in self.parked.values())
        return len(self.parked) >= self.bound.total or any(
            n >= self.bound.per_sender for n in senders.values())

    def __len__(self) -> int:
        return len(self.parked)
