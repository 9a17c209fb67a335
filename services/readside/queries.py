"""The read side of an agency node: what the HTTP API asks for the board and hand-offs.

A page is found by the read store's indexes (`services.readside.store.INDEXED`): the
database filters, sorts and pages, and only the page's documents are read. What depends
on the time is compared with times the index keeps: a clock is overdue once its due
time has passed; a status holds until the day the index names (`status_until`), and
the few rows past that day are worked out again before the page is asked for. Queries
work all of it out from the `now` they are given, so a test's clock decides.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from eventsourcing.application import Application

from events.case import utc
from projections.board import (
    BoardFilters,
    BoardPage,
    DeadlinesFor,
    Order,
    board_row,
    default_deadlines,
    entry,
    instant,
)
from projections.handoffs import HandoffFilters, HandoffOrder, InTransit, in_transit
from projections.projection import Doc
from services.clock import Clock, SystemClock
from services.notification_log import GapBarrier
from services.readside.runner import ProjectionRunner, runners
from services.readside.store import INDEXED, Query, ReadStore, Where

BOARD_ORDER: dict[str, tuple[tuple[str, bool], ...]] = {
    Order.URGENT: (("urgent", True), ("updated_at", True), ("key", True)),
    Order.RECENT: (("updated_at", True), ("key", True)),
    Order.OLDEST: (("updated_at", False), ("key", False)),
    Order.OVERDUE: (("overdue_at", False), ("key", False)),
}


class ReadModels:
    def __init__(self, app: Application[Any], store: ReadStore, barrier: GapBarrier,
                 deadlines_for: DeadlinesFor = default_deadlines,
                 clock: Clock | None = None) -> None:
        self.store = store
        self.deadlines_for = deadlines_for
        self.clock = clock or SystemClock()
        self.runners: list[ProjectionRunner] = runners(
            app, self.store, barrier, deadlines_for=deadlines_for, today=self.today)
        for runner in self.runners:
            if runner.name in INDEXED and not store.indexed(runner.name):
                self._index_all(runner)

    @classmethod
    def over(cls, store: ReadStore, deadlines_for: DeadlinesFor = default_deadlines,
             clock: Clock | None = None) -> ReadModels:
        """The queries alone, over a read store kept current elsewhere (no runners)."""
        models = cls.__new__(cls)
        models.store, models.deadlines_for = store, deadlines_for
        models.clock, models.runners = clock or SystemClock(), []
        return models

    def today(self) -> date:
        return utc(self.clock.now()).date()

    def _index_all(self, runner: ProjectionRunner) -> None:
        """Index a read model kept before its index existed (once, on upgrade)."""
        index: Callable[[Any], Any] = runner.projection.index  # type: ignore[attr-defined]
        docs = self.store.all(runner.name)
        self.store.commit(runner.name, {}, index={k: index(d) for k, d in docs.items()})

    def refresh(self) -> int:
        """Bring every read model up to the store (a node also runs a ProjectionWorker)."""
        return sum(runner.catch_up() for runner in self.runners)

    def board(self, filters: BoardFilters, now: datetime) -> BoardPage:
        self._restate(utc(now).date())
        where = []
        if filters.status is not None:
            where.append(Where("status", "=", filters.status.value))
        if filters.open is not None:
            where.append(Where("open", "=", filters.open))
        if filters.partner is not None:
            where.append(Where("partner", "=", filters.partner))
        if filters.overdue is not None:
            where.append(Where("overdue_at", "<" if filters.overdue else ">=", instant(now)))
        if filters.assigned_to is not None:
            where.append(Where("assigned_to", "=", filters.assigned_to))
        rows, total = self.store.page("board", Query(
            tuple(where), BOARD_ORDER[filters.sort], filters.limit, filters.offset))
        docs = self.store.load("board", [key for key, *_ in rows])
        return BoardPage([entry(docs[key], now, self.deadlines_for)
                          for key, *_ in rows if key in docs], total)

    def overdue_by_assignee(self, now: datetime) -> dict[str, int]:
        """Cases with a clock run out, by the user they are assigned to ("" for none)."""
        rows, _ = self.store.page("board", Query(
            (Where("overdue_at", "<", instant(now)),), limit=None, also=("assigned_to",)))
        counts: dict[str, int] = {}
        for _, assignee in rows:
            counts[assignee] = counts.get(assignee, 0) + 1
        return counts

    def awaiting_approval(self) -> list[Doc]:
        """The documents of the cases with a request pending a supervisor's decision,
        the most recently changed first."""
        rows, _ = self.store.page("board", Query(
            (Where("approvals", ">", 0),), (("approvals", True), ("updated_at", True),
                                             ("key", True)), limit=None))
        docs = self.store.load("board", [key for key, *_ in rows])
        return [docs[key] for key, *_ in rows if key in docs]

    def _restate(self, today: date) -> None:
        """Work out again the status of the rows whose day has moved past it."""
        day = today.isoformat()
        stale = [key for ask in (Where("status_until", "<=", day), Where("status_from", ">", day))
                 for key, *_ in self.store.page("board", Query((ask,), limit=None))[0]]
        if not stale:
            return
        docs = self.store.load("board", stale)
        self.store.reindex("board", {k: board_row(d, today, self.deadlines_for)
                                     for k, d in docs.items()},
                           {k: d["version"] for k, d in docs.items()})

    def handoffs(self, now: datetime, filters: HandoffFilters | None = None) -> list[InTransit]:
        return self.handoff_page(filters or HandoffFilters(), now)[0]

    def handoff_page(self, filters: HandoffFilters, now: datetime,
                     ) -> tuple[list[InTransit], int]:
        """Persons in transit at `now`: a page of them, and how many there are."""
        base = [Where("in_transit", "=", True)]
        if filters.partner is not None:
            base.append(Where("partner", "=", filters.partner))
        at = instant(now)
        late, on_time = Where("confirm_by", "<", at), Where("confirm_by", ">=", at)
        by_departure = (("departed_at", False), ("key", False))
        if filters.sort == HandoffOrder.DEPARTED or filters.overdue is not None:
            if filters.overdue is not None:
                base.append(late if filters.overdue else on_time)
            longest_overdue = filters.overdue and filters.sort == HandoffOrder.OVERDUE
            order = (("confirm_by", False), *by_departure) if longest_overdue else by_departure
            rows, total = self.store.page("handoffs", Query(
                tuple(base), order, filters.limit, filters.offset))
        else:  # the overdue first, the longest overdue first; then the longest in transit
            rows, overdue = self.store.page("handoffs", Query(
                (*base, late), (("confirm_by", False), *by_departure), filters.limit,
                filters.offset))
            more, rest = self.store.page("handoffs", Query(
                (*base, on_time), by_departure, filters.limit - len(rows),
                max(0, filters.offset - overdue)))
            rows, total = rows + more, overdue + rest
        keys = [key for key, *_ in rows]
        docs = self.store.load("handoffs", keys)
        found = {t.id: t for t in in_transit(docs.values(), now, self.deadlines_for)}
        return [found[k] for k in keys if k in found], total

    def close(self) -> None:
        self.store.close()
