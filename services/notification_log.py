"""Reading the notification log in order, as the projections and the relay both do.

A reader never moves past a missing notification id until the store says the gap will
not be filled: on PostgreSQL a transaction that took an id may commit after a later one
(services.backends.postgres_reads answers for it); on SQLite ids are given inside the
database's write lock, so a gap is never filled later. The composition root gives each
reader the barrier of its store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from eventsourcing.persistence import Notification

log = logging.getLogger(__name__)


class GapBarrier(Protocol):
    def settled(self, first: int, before: int) -> bool: ...


class NoLateCommits:
    """SQLite: ids are given inside the write lock, so a gap is never filled later."""

    def settled(self, first: int, before: int) -> bool:
        return True


def contiguous(reader: str, start: int, found: Sequence[Notification],
               barrier: GapBarrier) -> list[Notification]:
    """The notifications after `start` a reader may take now: it stops before a missing
    id that a transaction still in flight may yet fill."""
    ready: list[Notification] = []
    expected = start + 1
    for note in found:
        if note.id != expected and not barrier.settled(expected, note.id):
            log.info("%s waits at notification %d: a transaction may still fill it",
                     reader, expected)
            break
        ready.append(note)
        expected = note.id + 1
    return ready
