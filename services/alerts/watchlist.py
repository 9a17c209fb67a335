"""Which cases the monitor's next scan for overdue clocks must read.

A case's overdue clocks change only when its document is written (a milestone merged)
or when one of its clocks, not met, comes due. So the watchlist keeps, in memory, the
cases written since the last scan (`written`, told by the view after it wrote them) and,
per case, the earliest due time of its clocks not yet overdue; a scan reads those
written and those whose time has passed, nothing else. It starts owing a whole scan (a
restart reads every document, as it knows nothing of them), and owes one again after a
scan failed half-way (what it had taken could be lost) or when a subscription appears
(its alerts were never raised).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime


class Watchlist:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._whole = True
        self._written: set[str] = set()
        self._next: dict[str, datetime] = {}  # case -> its earliest clock not yet overdue
        self._heap: list[tuple[datetime, str]] = []  # (time, case); stale ones skipped

    def written(self, cases: Iterable[str]) -> None:
        """Documents just written (after their commit): the next scan reads them."""
        with self._lock:
            self._written.update(cases)

    def rescan(self) -> None:
        """The next scan reads every document."""
        with self._lock:
            self._whole = True

    def take(self, now: datetime) -> set[str] | None:
        """The cases the scan at `now` must read, or None for every case; they are no longer
        owed (a scan that fails calls `rescan`)."""
        with self._lock:
            self._written, taken = set(), self._written
            if self._whole:
                self._whole = False
                return None
            while self._heap and self._heap[0][0] < now:
                due, case = heapq.heappop(self._heap)
                if self._next.get(case) == due:
                    del self._next[case]
                    taken.add(case)
            return taken

    def scanned(self, upcoming: Mapping[str, datetime], cases: Iterable[str] | None) -> None:
        """After a scan of `cases` (None: every case), the earliest due time of each one's
        clocks not yet overdue (a case without any is left out)."""
        with self._lock:
            if cases is None:
                self._next, self._heap = {}, []
            else:
                for case in cases:
                    self._next.pop(case, None)
            for case, due in upcoming.items():
                self._next[case] = due
                heapq.heappush(self._heap, (due, case))
            if len(self._heap) > 2 * len(self._next) + 1000:  # mostly stale: made anew
                self._heap = [(due, case) for case, due in self._next.items()]
                heapq.heapify(self._heap)
