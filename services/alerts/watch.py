"""The monitor's alerts: found in its case documents, delivered to its subscribers.

Escalations are raised as their milestone is merged (`escalated`, called by the view
before it writes the documents, so a crash in between redelivers the milestone and the
same deliveries are found again); overdue clocks are found by a scan of the documents at
the clock's time (`scan`), which reads only the documents written since the last scan
(`written`, called by the view after it wrote them) and those with a clock come due
since (`services.alerts.watchlist`); the first scan of a process reads them all. `tick`
scans, tries what is due, and once an hour forgets deliveries finished more than the
retention ago whose alert can never be found again (`prune`); the node runs it every
second, a test calls it with its own clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from projections.board import DeadlinesFor, default_deadlines
from projections.monitor_alerts import found_for_good, open_alerts, watched
from services.alerts.deliveries import Alert, Deliveries, Post, post
from services.alerts.subscriptions import CLOCK_EVENTS, Subscriptions
from services.alerts.watchlist import Watchlist
from services.readside.store import ReadStore

MONITOR_DOCS = "monitor"
RETENTION = timedelta(days=30)  # HOMEWARD_ALERT_RETENTION_DAYS
PRUNE_EVERY = timedelta(hours=1)
log = logging.getLogger(__name__)


class Alerts:
    def __init__(self, store: ReadStore, now: Callable[[], datetime],
                 deadlines_for: DeadlinesFor = default_deadlines, send: Post = post,
                 retention: timedelta = RETENTION) -> None:
        self.store, self.now, self.deadlines_for = store, now, deadlines_for
        self.retention = retention
        self.subscriptions = Subscriptions(store)
        self.deliveries = Deliveries(store, self.subscriptions, now, send)
        self.watchlist = Watchlist()
        self._scanned_for: frozenset[str] = frozenset()  # the subscriptions scanned for
        self._pruned_at: datetime | None = None

    def written(self, cases: Iterable[str]) -> None:
        """Case documents just written: the next scan reads them again."""
        self.watchlist.written(cases)

    def escalated(self, found: Iterable[tuple[str, dict[str, str], tuple[str, str, str]]]
                  ) -> int:
        """(pseudonym, corridor, (time, event, kind)) of escalations just reported."""
        return self.deliveries.raise_alerts(
            Alert(event, corridor, case, at, incident=kind or None)
            for case, corridor, (at, event, kind) in found)

    def scan(self) -> int:
        """A delivery for each clock overdue now, to each subscription that wants it, of
        the cases whose overdue clocks can have changed since the last scan."""
        now = self.now()
        active = frozenset(s.id for s in self.subscriptions.active())
        if not active <= self._scanned_for:
            self.watchlist.rescan()  # a new subscription: every alert standing is its
        cases = self.watchlist.take(now)
        try:
            docs = (self.store.all(MONITOR_DOCS) if cases is None
                    else self.store.load(MONITOR_DOCS, cases))
            found, upcoming = watched(docs, now, self.deadlines_for)
            raised = self.deliveries.raise_alerts(
                Alert(CLOCK_EVENTS[o["clock"]], o["corridor"], o["case"], o["due_at"],
                      clock=o["clock"])
                for o in found if o["clock"] in CLOCK_EVENTS)
        except BaseException:
            self.watchlist.rescan()  # what was taken is owed again
            raise
        self.watchlist.scanned(earliest_alerting(upcoming), cases)
        self._scanned_for = active
        return raised

    def tick(self) -> int:
        """Scan, then try every delivery due; returns how many were tried."""
        if not self.subscriptions.active():
            return 0
        self.scan()
        now = self.now()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self.prune()
            self._pruned_at = now
        return self.deliveries.attempt_due()

    def prune(self) -> int:
        """Forgets deliveries finished more than the retention ago whose alert can never be
        found again (`found_for_good`), so raising it again cannot deliver it twice; the
        others are kept. Returns how many were forgotten."""
        before, offset, forgotten = self.now() - self.retention, 0, 0
        while page := self.deliveries.finished_before(before, offset=offset):
            docs = self.store.load(MONITOR_DOCS, {d["body"]["case"] for d in page})
            gone = [d["id"] for d in page if d["body"]["case"] in docs
                    and found_for_good(docs[d["body"]["case"]], d["body"], self.deadlines_for)]
            self.deliveries.forget(gone)
            forgotten += len(gone)
            offset += len(page) - len(gone)
        return forgotten

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


def earliest_alerting(upcoming: Mapping[str, list[tuple[str, datetime]]]
                      ) -> dict[str, datetime]:
    """Per case, the earliest due time of its clocks not yet overdue that raise an alert."""
    out = {}
    for case, clocks in upcoming.items():
        due = [at for name, at in clocks if name in CLOCK_EVENTS]
        if due:
            out[case] = min(due)
    return out
