"""The whole store's audit on every core: its cases in ranges, one process per core.

Each worker process opens the store itself (`Opener`: the parent's connections are never
used across the fork) and checks whole ranges of cases, each read from its stored rows
(services/anchors/links.py) with its checkpoints; the parent hands out the ranges in the
store's order and gives back each case's audit in that order, so what is printed is the
same whatever the number of workers. One worker, a single range, or (with the number of
workers left to the cores) fewer than `IN_PROCESS_BELOW` cases are checked in the process
itself: on a small store, starting the processes costs more than they save (measured on the
benchmark's store: 300 cases, 33,500 events/s in one process against 26,200 in two; 1,000
cases, 43,500 against 47,600).

What the process holds when the sweep starts (its modules, the caller's objects) is moved
out of the garbage collector's sight for the sweep (`gc.freeze`; a worker inherits it so): a
full collection, which the links made for each range set off, would otherwise walk all of it
each time, and in a worker write to every page it inherited.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any
from uuid import UUID

from services.anchors.audit import CaseAudit, StoreAudit

Opener = Callable[[], StoreAudit]  # called once in each worker process
MOST_PER_RANGE = 256
IN_PROCESS_BELOW = 600  # cases

_worker: StoreAudit | None = None


def _open(opener: Opener) -> None:
    global _worker
    _worker = opener()


def _check(case_ids: list[UUID]) -> list[CaseAudit]:
    assert _worker is not None
    return _worker.range(case_ids)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1


class Sweep:
    """`with Sweep(audit, opener) as sweep:` `sweep.case_ids` are the cases it checks (those
    given, else every case of the store and of its checkpoints; for a progress bar), and
    iterating it gives each one's `CaseAudit`, in that order. The worker processes are
    started on entering, before any thread of the caller's display."""

    def __init__(self, audit: StoreAudit, opener: Opener | None, workers: int = 0,
                 case_ids: Iterable[UUID] | None = None) -> None:
        self.audit, self.opener = audit, opener
        self.workers, self._chosen = workers or cores(), bool(workers)
        self._given = None if case_ids is None else list(case_ids)
        self.case_ids: list[UUID] = []
        self._ranges: list[list[UUID]] = []
        self._pool: Any = None

    def __enter__(self) -> Sweep:
        self.case_ids = self.audit.case_ids() if self._given is None else self._given
        # Two ranges a worker (at most MOST_PER_RANGE cases each): each range handed out is a
        # round trip through the parent, which on a small store costs as much as the checks.
        size = max(1, min(MOST_PER_RANGE, math.ceil(len(self.case_ids) / (self.workers * 2))))
        self._ranges = [self.case_ids[i:i + size] for i in range(0, len(self.case_ids), size)]
        gc.freeze()
        if self.processes > 1:
            context = multiprocessing.get_context("fork")
            try:
                self._pool = context.Pool(self.workers, initializer=_open,
                                          initargs=(self.opener,))
            except BaseException:
                gc.unfreeze()
                raise
        return self

    @property
    def processes(self) -> int:
        """How many processes check the cases: the workers, or this one alone."""
        small = not self._chosen and len(self.case_ids) < IN_PROCESS_BELOW
        if self.opener is None or self.workers == 1 or len(self._ranges) <= 1 or small:
            return 1
        return self.workers

    def __iter__(self) -> Iterator[CaseAudit]:
        if self._pool is None:
            for case_ids in self._ranges:
                yield from self.audit.range(case_ids)
            return
        for audits in self._pool.imap(_check, self._ranges):
            yield from audits

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._pool is not None:
            if kind is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()
        gc.unfreeze()
