"""Roles that one replica of an agency node holds at a time: the relay (one sender per
agency, so a case's messages leave in order and once per batch) and the projection worker.

An agency node may run as several processes over one PostgreSQL store. Each replica serves
the API and reads its share of the inbox (one consumer group); a role is taken by whichever
replica gets its lock, a PostgreSQL session advisory lock held on a connection of its own
(`AdvisoryLock`, services/backends/postgres_roles.py). The replica works only while that
connection lives: a replica that dies closes it (or the server's TCP keepalives find it
gone), PostgreSQL releases the lock, and a replica waiting for it takes the role within a
few seconds (`retry`, then `grace`). A holder that can no longer reach PostgreSQL stops
the work after its current batch, within `check` + `timeout` seconds, while the server
keeps its lock for its keepalive time (`KEEPALIVE_*`, about 11 s); and a holder whose
session the server ended notices within the same time, which is the `grace` a new holder
waits before it starts, so two replicas never do the work at once. A batch sent twice
across a change of holder (sent, not yet recorded, when its holder died) carries the same
message ids, which the partner's inbox recognises.

A SQLite node is one process, so it holds every role from start to stop (`AlwaysHeld`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Protocol

from services.logs.events import operational

Work = Callable[[threading.Event], None]  # runs until the event is set


class Role(Protocol):
    name: str

    def held(self) -> bool:
        """Whether this replica does the role's work now."""
        ...

    def run(self, work: Work, stop: threading.Event) -> None:
        """Does `work` whenever this replica holds the role, until `stop` is set."""
        ...


class AlwaysHeld:
    """The role of a node that is one process: held from start to stop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._held = threading.Event()

    def held(self) -> bool:
        return self._held.is_set()

    def run(self, work: Work, stop: threading.Event) -> None:
        self._held.set()
        operational("role taken", role=self.name, holder="sole")
        try:
            work(stop)
        finally:
            self._held.clear()
            operational("role let go", role=self.name, reason="stopping")


def lock_key(scope: str, name: str) -> int:
    """The advisory lock's 64-bit key: the role within one store (its database schema),
    so two nodes sharing a database never wait for each other."""
    digest = hashlib.sha256(f"homeward:{scope}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
