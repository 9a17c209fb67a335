"""Messages ahead of their predecessors (a higher `sequence`), held in memory until the
predecessor is applied, then released in order; so is one of a case whose opening has not
come yet, for `unknown_case_wait` at most. No offset is committed past a held message, so a
crash loses nothing. Bounded per case and in all (`HoldingLimits`): beyond, the inbox pauses the
partition; past the pause, what it cannot hold is left to its sender to send again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.exchange.admission import Fact

UNKNOWN_CASE_WAIT = 3600.0  # how long a message of a case not known here waits for its opening

Key = tuple[UUID, str, int]  # case, sender, sequence


@dataclass(frozen=True)
class HoldingLimits:
    """How many messages ahead of their predecessors the inbox holds in memory."""

    per_case: int = 1000
    total: int = 10_000


class Overflow(Exception):
    """Holding one more message would pass the bound."""


def key_of(fact: Fact, ahead: int = 0) -> Key:
    r = fact.received
    return (fact.case_id, r.sender, r.sequence + ahead)


class Holding:
    def __init__(self, bound: HoldingLimits | None = None,
                 unknown_case_wait: float = UNKNOWN_CASE_WAIT) -> None:
        self.held: dict[Key, tuple[Any, Fact]] = {}
        self.bound, self.unknown_case_wait = bound or HoldingLimits(), unknown_case_wait
        self._awaiting: dict[Key, float] = {}  # held for a case not known yet: since when
        self.overflowing: set[tuple[str, int]] = set()  # partitions read on past the bound

    def hold(self, record: Any, fact: Fact) -> str:
        """`held`; or `left` (not held: its sender sends it again) on a partition read on
        past its pause; Overflow when the bound is reached."""
        key = key_of(fact)
        if key not in self.held:
            of_case = sum(1 for held in self.held if held[0] == fact.case_id)
            if of_case >= self.bound.per_case or len(self.held) >= self.bound.total:
                if (record.topic, record.partition) not in self.overflowing:
                    raise Overflow()
                return "left"
        self.held[key] = (record, fact)
        return "held"

    def await_opening(self, fact: Fact, now: float) -> None:
        """The fact is held for its case's opening, from `now` (the first time)."""
        self._awaiting.setdefault(key_of(fact), now)

    def successor(self, fact: Fact) -> tuple[Key, Any, Fact] | None:
        """The held message that follows the fact, taken out (`put_back` if it could not
        be handled), or None."""
        key = key_of(fact, ahead=1)
        entry = self.held.pop(key, None)
        return (key, *entry) if entry is not None else None

    def put_back(self, key: Key, record: Any, fact: Fact) -> None:
        self.held[key] = (record, fact)

    def given_up(self, now: float) -> list[tuple[Key, Any]]:
        """The messages held for an opening that did not come in time (still held: `drop`
        them once dead-lettered)."""
        for key in [k for k in self._awaiting if k not in self.held]:
            del self._awaiting[key]  # applied since: its case came
        return [(key, self.held[key][0]) for key, since in self._awaiting.items()
                if now - since > self.unknown_case_wait]

    def drop(self, key: Key) -> None:
        self.held.pop(key, None)
        self._awaiting.pop(key, None)

    def offsets(self, topic: str, partition: int) -> list[int]:
        """The offsets held on a partition: no commit passes them."""
        return [r.offset for r, _ in self.held.values() if (r.topic, r.partition) == (
            topic, partition)]

    def settle_overflow(self) -> None:
        """Every held message applied: the bound pauses again."""
        if not self.held:
            self.overflowing.clear()
