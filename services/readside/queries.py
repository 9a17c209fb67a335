"""The read side of an agency node: what the HTTP API asks for the board and hand-offs.

Queries read the stored documents and work out everything that depends on time
from the `now` they are given, so a test's clock decides what is overdue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.application import Application

from projections.board import BoardFilters, BoardPage, DeadlinesFor, board_view, default_deadlines
from projections.handoffs import InTransit, in_transit
from services.notification_log import GapBarrier
from services.readside.runner import ProjectionRunner, runners
from services.readside.store import ReadStore


class ReadModels:
    def __init__(self, app: Application[Any], store: ReadStore, barrier: GapBarrier,
                 deadlines_for: DeadlinesFor = default_deadlines) -> None:
        self.store = store
        self.deadlines_for = deadlines_for
        self.runners: list[ProjectionRunner] = runners(app, self.store, barrier)

    def refresh(self) -> int:
        """Bring every read model up to the store (a node also runs a ProjectionWorker)."""
        return sum(runner.catch_up() for runner in self.runners)

    def board(self, filters: BoardFilters, now: datetime) -> BoardPage:
        return board_view(self.store.all("board").values(), filters, now, self.deadlines_for)

    def handoffs(self, now: datetime) -> list[InTransit]:
        return in_transit(self.store.all("handoffs").values(), now, self.deadlines_for)

    def close(self) -> None:
        self.store.close()
