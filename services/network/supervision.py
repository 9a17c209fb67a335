"""Keeping the embedded network's members alive: each member (the broker, each node) is
watched, and one that died is started again, with backoff, saying so. A member that stays
up a minute is forgiven its earlier failures.

With durable stores, receipts and re-sending, a member brought back loses nothing: a
broker restarted without its memory is refilled by the relays (docs/cross-border.md,
"Delivery and receipts")."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

FORGIVEN_AFTER = 60.0  # seconds up before earlier failures no longer lengthen the backoff


@dataclass
class Member:
    name: str
    alive: Callable[[], bool]
    restart: Callable[[], None]
    failures: int = 0
    due: float | None = None  # when it is started again (monotonic), while it is down
    up_since: float = 0.0


class Supervisor:
    def __init__(self, say: Callable[[str], None], first: float = 1.0, longest: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.say, self.first, self.longest, self.clock = say, first, longest, clock
        self.members: list[Member] = []

    def watch(self, name: str, alive: Callable[[], bool], restart: Callable[[], None]) -> None:
        self.members.append(Member(name, alive, restart, up_since=self.clock()))

    def check(self) -> None:
        """One look at every member: a dead one is scheduled, a due one started again."""
        now = self.clock()
        for m in self.members:
            if m.due is None and m.alive():
                if m.failures and now - m.up_since > FORGIVEN_AFTER:
                    m.failures = 0
                continue
            if m.due is None:
                self._schedule(m, now, "stopped")
            elif now >= m.due:
                self._bring_back(m, now)

    def _schedule(self, m: Member, now: float, what: str) -> None:
        m.failures += 1
        wait = min(self.first * 2 ** (m.failures - 1), self.longest)
        m.due = now + wait
        self.say(f"homeward run: {m.name} {what}; starting it again in {wait:g} s")

    def _bring_back(self, m: Member, now: float) -> None:
        try:
            m.restart()
        except Exception as error:  # e.g. its port not free yet: try again, later
            self._schedule(m, now, f"could not start ({type(error).__name__}: {error})")
            return
        m.due, m.up_since = None, self.clock()
        self.say(f"homeward run: {m.name} is running again")
