"""The monitor's alerts: found in its case documents, delivered to its subscribers.

Escalations are raised as their milestone is merged (`escalated`, called by the view
before it writes the documents, so a crash in between redelivers the milestone and the
same deliveries are found again); overdue clocks are found by a scan of the documents at
the clock's time (`scan`). `tick` scans and tries what is due; the node runs it every
second, a test calls it with its own clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from projections.board import DeadlinesFor, default_deadlines
from projections.monitor_alerts import open_alerts, overdue
from services.alerts.deliveries import Alert, Deliveries, Post, post
from services.alerts.subscriptions import CLOCK_EVENTS, Subscriptions
from services.readside.store import ReadStore

MONITOR_DOCS = "monitor"
log = logging.getLogger(__name__)


class Alerts:
    def __init__(self, store: ReadStore, now: Callable[[], datetime],
                 deadlines_for: DeadlinesFor = default_deadlines, send: Post = post) -> None:
        self.store, self.now, self.deadlines_for = store, now, deadlines_for
        self.subscriptions = Subscriptions(store)
        self.deliveries = Deliveries(store, self.subscriptions, now, send)

    def escalated(self, found: Iterable[tuple[str, dict[str, str], tuple[str, str, str]]]
                  ) -> int:
        """(pseudonym, corridor, (time, event, kind)) of escalations just reported."""
        return self.deliveries.raise_alerts(
            Alert(event, corridor, case, at, incident=kind or None)
            for case, corridor, (at, event, kind) in found)

    def scan(self) -> int:
        """A delivery for each clock overdue now, to each subscription that wants it."""
        docs = self.store.all(MONITOR_DOCS)
        return self.deliveries.raise_alerts(
            Alert(CLOCK_EVENTS[o["clock"]], o["corridor"], o["case"], o["due_at"],
                  clock=o["clock"])
            for o in overdue(docs, self.now(), self.deadlines_for) if o["clock"] in CLOCK_EVENTS)

    def tick(self) -> int:
        """Scan, then try every delivery due; returns how many were tried."""
        if not self.subscriptions.active():
            return 0
        self.scan()
        return self.deliveries.attempt_due()

    def standing(self) -> list[dict[str, Any]]:
        """The alerts standing now (the page lists them): the overdue clocks a subscription
        may ask for (not the follow-up months), and escalations."""
        return [a for a in open_alerts(self.store.all(MONITOR_DOCS), self.now(),
                                       self.deadlines_for)
                if a["kind"] != "clock" or a["clock"] in CLOCK_EVENTS]

    def run(self, stop: threading.Event, every: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the store hiccuped: the deliveries stay due
                log.exception("alert deliveries failed; retrying")
            stop.wait(every)
