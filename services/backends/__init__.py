"""The kinds of store a node can keep its data in: one object per kind (SQLite,
PostgreSQL), each yielding everything the node keeps there, with one connection policy.

A backend gives the event store's environment (eventsourcing's), the read store, the gap
barrier that goes with the event store, the node's own tables, the per-case key table
and the roles one replica holds at a time. The composition root (services/bootstrap.py)
chooses the backend from `HOMEWARD_DATABASE_URL`; an application built from an event
store's environment alone (a test, a benchmark) finds its backend with `of_store`. Only
this package and the composition root name `sqlite3`, `psycopg` or a Kafka client class
(tests/unit/test_layering.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from eventsourcing.cipher import Cipher

from services.backends.backend import Backend
from services.backends.postgres import POSTGRES, PostgresBackend
from services.backends.sqlite import SQLITE, SQLiteBackend
from services.erasure.keys import CaseKeys, MemoryCaseKeys

__all__ = ["Backend", "PostgresBackend", "SQLiteBackend", "case_keys_for", "of_store"]


def of_store(env: Mapping[str, str]) -> Backend | None:
    """The backend whose event store `env` is (as `Backend.event_store` gave it); None for
    a store in memory."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == POSTGRES:
        return PostgresBackend(env)
    if module == SQLITE and "memory" not in env.get("SQLITE_DBNAME", "memory"):
        events = Path(env["SQLITE_DBNAME"])
        return SQLiteBackend(events, events.parent)
    return None


def case_keys_for(env: Mapping[str, str], wrap: Cipher | None) -> CaseKeys:
    """The key table beside the event store `env` names; in memory for a store in memory."""
    backend = of_store(env)
    return backend.case_keys(wrap) if backend is not None else MemoryCaseKeys(wrap)
