"""Raw eventsourcing, the floor the benchmarks set Homeward's figures beside: the smallest
aggregate that records something, an application of nothing else, and their saves."""

from __future__ import annotations

import time
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Counter(Aggregate):
    """The smallest aggregate that records something."""

    @event("Ticked")
    def tick(self, n: int) -> None:
        self.n = n


class Raw(Application[UUID]):
    name = "rawbench"


def raw_saves(app: Raw, count: int) -> float:
    """Seconds to save one counter `count` times, one event each."""
    counter = Counter()
    app.save(counter)
    began = time.perf_counter()
    for n in range(count):
        counter.tick(n)
        app.save(counter)
    return time.perf_counter() - began
