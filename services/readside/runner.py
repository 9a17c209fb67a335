"""Runs read models over the notification log: pull a batch after the projection's
position, fold it into documents, write documents and position in one transaction.

Pull, not subscribe: eventsourcing 9.5's SQLite recorder has no subscriptions, and a
pull loop with its own tracking works the same on both stores. The loop never moves
past a missing notification id until the store says the gap will not be filled
(`services.notification_log`, which the relay reads the log with too).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from eventsourcing.application import Application

from events.case import CaseEvent
from projections.board import DeadlinesFor, StatusBoard, default_deadlines
from projections.handoffs import HandoffTracker
from projections.projection import Doc, Projection
from services.erasure.mapper import PersonalDataMapper
from services.exchange.leadership import AlwaysHeld, Role
from services.notification_log import GapBarrier, contiguous
from services.readside.store import INDEXED, ReadStore, StalePosition

log = logging.getLogger(__name__)

# Each read model, made for the node's corridor deadlines and its clock's day.
PROJECTIONS: dict[str, Callable[[DeadlinesFor, Callable[[], date]], Projection]] = {
    "board": StatusBoard, "handoffs": lambda deadlines_for, today: HandoffTracker(deadlines_for),
}


@dataclass(frozen=True)
class Rebuilt:
    name: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class ProjectionRunner:
    def __init__(self, app: Application[Any], store: ReadStore, projection: Projection,
                 barrier: GapBarrier, batch_size: int = 500) -> None:
        self.recorder = app.recorder
        # Read models keep nothing personal: they skip each case's key and its decryption.
        mapper = app.mapper
        self.decode = (mapper.without_personal if isinstance(mapper, PersonalDataMapper)
                       else mapper.to_domain_event)
        self.store = store
        self.projection = projection
        self.batch_size = batch_size
        self.barrier = barrier

    @property
    def name(self) -> str:
        return self.projection.name

    def run_once(self) -> int:
        """Process one batch; the number of notifications it covered (0: caught up)."""
        start = self.store.position(self.name)
        found = self.recorder.select_notifications(start=start + 1, limit=self.batch_size)
        ready = contiguous(self.name, start, found, self.barrier)
        if not ready:
            return 0
        by_key: dict[str, list[CaseEvent]] = {}  # each document's events, in order
        for notification in ready:
            event = self.decode(notification)
            if isinstance(event, CaseEvent) and (key := self.projection.key(event)) is not None:
                by_key.setdefault(key, []).append(event)
        work: dict[str, Doc | None] = dict(self.store.load(self.name, set(by_key)))
        changed: dict[str, Doc | None] = {}
        # A projection that folds a document's events at once does its decoding once.
        fold = getattr(self.projection, "apply_all", None)
        for key, keyed in by_key.items():
            if fold is not None:
                work[key] = changed[key] = fold(work.get(key), keyed)
                continue
            for event in keyed:
                work[key] = changed[key] = self.projection.apply(work.get(key), event)
        # Only the read models the store has index tables for (store.INDEXED).
        index = getattr(self.projection, "index", None) if self.name in INDEXED else None
        rows = ({k: index(d) if d is not None else None for k, d in changed.items()}
                if index is not None else None)
        self.store.commit(self.name, changed, position=ready[-1].id, expected=start, index=rows)
        return len(ready)

    def catch_up(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Run batches until nothing is left (or a gap must wait); the events covered."""
        done = 0
        while True:
            try:
                got = self.run_once()
            except StalePosition:
                continue  # another worker moved on: read again from its position
            done += got
            if on_batch is not None:
                on_batch(got)
            if got == 0:
                return done

    def rebuild(self, on_batch: Callable[[int], None] | None = None) -> Rebuilt:
        """Drop the read model and fold the whole log into it again, the cycle collector
        paused meanwhile (`collector_paused`), and the index table's database indexes
        made once it is filled (or the rebuild stopped), not kept in order row by row."""
        self.store.reset(self.name, indexes=False)
        began = time.perf_counter()
        try:
            with collector_paused():
                events = self.catch_up(on_batch)
        finally:
            self.store.add_indexes(self.name)
        return Rebuilt(self.name, events, time.perf_counter() - began)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a rebuild, on again after it if it was on. Folding
    the log leaves no reference cycle (what it makes is freed as it goes; a test holds a
    rebuild to that), while each batch's documents and events, alive until the batch is
    written, pushed the collector into full collections, each walking every object of the
    process: a sixth of a rebuild's time, more in a node holding its cases."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def runners(app: Application[Any], store: ReadStore, barrier: GapBarrier,
            names: Sequence[str] | None = None,
            deadlines_for: DeadlinesFor = default_deadlines,
            today: Callable[[], date] = lambda: datetime.now(UTC).date(),
            ) -> list[ProjectionRunner]:
    return [ProjectionRunner(app, store, PROJECTIONS[name](deadlines_for, today), barrier)
            for name in (names or list(PROJECTIONS))]


class ProjectionWorker:
    """Keeps read models current in a background thread of the node, while this replica
    holds the `projections` role (always, on a node that is one process)."""

    def __init__(self, runners: Sequence[ProjectionRunner], interval: float = 0.5,
                 role: Role | None = None) -> None:
        self.runners = list(runners)
        self.interval = interval
        self.role: Role = role or AlwaysHeld("projections")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ProjectionWorker:
        self._thread = threading.Thread(target=self.role.run, args=(self.run, self._stop),
                                        name="projections", daemon=True)
        self._thread.start()
        return self

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            for runner in self.runners:
                try:
                    runner.catch_up()
                except Exception:  # a store hiccup: keep the node up, try again shortly
                    log.exception("projection %s failed; retrying", runner.name)
            stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
