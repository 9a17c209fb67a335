"""The SQLite backend: a node that is one process, its data in files of its data dir.

The events in one file (`events.sqlite` unless `HOMEWARD_DATABASE_URL` names another),
the read models beside it (`<events>.projections.sqlite`), the per-case keys beside it
(`<events>.keys.sqlite`), the node's own tables in `api.sqlite` of the data dir, so they
never contend with the event store's writer, and the monitor's view in `monitor.sqlite`.
Connection policy: each store keeps one connection, shared by the node's threads under a
lock, with a 30 s busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.cipher import Cipher
from eventsourcing.persistence import StoredEvent

from services.backends.backend import ROLES, Backend
from services.backends.sqlite_reads import SqliteReadStore
from services.erasure.keys import TABLE, CaseKeys
from services.exchange.leadership import AlwaysHeld, Role
from services.notification_log import GapBarrier, NoLateCommits
from services.tables import Result

SQLITE = "eventsourcing.sqlite"
BUSY_SECONDS = 30  # how long a statement waits for another connection's write lock
TABLES = "api.sqlite"  # the node's own tables, in its data dir
MONITOR = "monitor.sqlite"  # the monitor's view, in its data dir


def connect(path: Path | str, **options: Any) -> sqlite3.Connection:
    """A connection any of the node's threads may use (each store serialises them)."""
    return sqlite3.connect(str(path), timeout=BUSY_SECONDS, check_same_thread=False, **options)


def truncate_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Every frame of a SQLite write-ahead log copied into its database (where
    `secure_delete` zeroes what was freed) and the log truncated to nothing, so no earlier
    version of a page is left in any file. A reader in another connection holds it up: it
    is tried again, then an error rather than an erasure said done with the page kept."""
    for _ in range(attempts):
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return
        time.sleep(0.02)
    raise sqlite3.OperationalError("the write-ahead log could not be truncated: a reader holds it")



class SQLiteBackend(Backend):
    def __init__(self, events: Path, home: Path) -> None:
        self.events, self.home = events, home

    def event_store(self) -> dict[str, str]:
        self.events.parent.mkdir(parents=True, exist_ok=True)
        return {"PERSISTENCE_MODULE": SQLITE, "SQLITE_DBNAME": str(self.events)}

    def store_exists(self) -> bool:
        return self.events.exists()

    def read_store(self) -> SqliteReadStore:
        return SqliteReadStore(self._beside("projections"))

    def monitor_store(self) -> SqliteReadStore:
        self.home.mkdir(parents=True, exist_ok=True)
        return SqliteReadStore(self.home / MONITOR)

    def gap_barrier(self, app: Application[Any]) -> GapBarrier:
        return NoLateCommits()  # ids are given inside the write lock

    def tables(self) -> SQLiteTables:
        return SQLiteTables(self.home / TABLES)

    def case_keys(self, wrap: Cipher | None) -> SQLiteCaseKeys:
        return SQLiteCaseKeys(self._beside("keys"), wrap)

    def roles(self, names: Iterable[str] = ROLES) -> dict[str, Role]:
        return {name: AlwaysHeld(name) for name in names}  # one process holds every role

    def _beside(self, what: str) -> Path:
        return self.events.with_name(f"{self.events.stem}.{what}.sqlite")

    def stored_events(self, app: Application[Any], case_ids: Sequence[UUID]
                      ) -> dict[UUID, list[StoredEvent]]:
        recorder: Any = app.recorder
        found: dict[UUID, list[StoredEvent]] = {}
        with recorder.datastore.transaction(commit=False) as c:
            for i in range(0, len(case_ids), IN_LIST):
                part = [case_id.hex for case_id in case_ids[i:i + IN_LIST]]
                c.execute(f"SELECT originator_id, originator_version, topic, state FROM "
                          f"{recorder.events_table_name} WHERE originator_id IN "
                          f"({','.join('?' * len(part))}) ORDER BY originator_id, "
                          "originator_version", part)
                text, case_id, rows = "", UUID(int=0), []
                for originator_id, version, topic, state in c.fetchall():
                    if originator_id != text:  # a case's rows come together: its id made once
                        text, case_id = originator_id, UUID(originator_id)
                        rows = found.setdefault(case_id, [])
                    rows.append(StoredEvent(case_id, version, topic, state))
        return found


IN_LIST = 500  # ids a query names at most (SQLite's limit on parameters is higher)


class SQLiteTables:
    """The node's own tables in a file of their own (services/tables/__init__.py)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one writer at a time; reads are short too
        # One connection, kept, as on PostgreSQL: every read of a case writes the access log.
        self._conn = connect(path)
        self._conn.execute("PRAGMA secure_delete = ON")  # what erasure overwrites is gone
        # Write-ahead log: a commit appends to it and syncs it once, where the rollback
        # journal wrote, synced and deleted a file of its own; readers never wait. What an
        # erasure overwrote is in its frames until `shred` copies them back and truncates it.
        self._conn.execute("PRAGMA journal_mode = WAL")

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result:
        with self._lock, self._conn:  # commits, or rolls back on error
            cursor = self._conn.execute(sql, tuple(params))
            return Result(cursor.rowcount, cursor.fetchall())

    def shred(self) -> None:
        with self._lock:
            truncate_wal(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def table(self, name: str) -> str:
        return name


class SQLiteCaseKeys(CaseKeys):
    """The key table in a file beside the events file. SQLite keeps no trace of a
    destroyed key: `secure_delete` zeroes freed content, and the erasure ends with a
    VACUUM and the write-ahead log copied back and truncated to nothing (`truncate_wal`)
    before it returns."""

    def __init__(self, path: Path, wrap: Cipher | None) -> None:
        super().__init__(wrap)
        self._conn = connect(path, isolation_level=None)
        self._db_lock = threading.Lock()
        self._run("PRAGMA secure_delete = ON")
        self._run("PRAGMA journal_mode = WAL")
        self._run(f"CREATE TABLE IF NOT EXISTS {TABLE} (case_id TEXT PRIMARY KEY, "
                  "wrapped_key BLOB, erased_at TEXT)")

    def _run(self, statement: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._db_lock:
            return self._conn.execute(statement, args).fetchall()

    def _select(self, case_id: UUID) -> tuple[bytes | None, str | None] | None:
        rows = self._run(f"SELECT wrapped_key, erased_at FROM {TABLE} WHERE case_id = ?",
                         (str(case_id),))
        return (rows[0][0], rows[0][1]) if rows else None

    def _select_all(self, case_ids: Sequence[UUID]
                    ) -> dict[UUID, tuple[bytes | None, str | None]]:
        found: dict[UUID, tuple[bytes | None, str | None]] = {}
        for i in range(0, len(case_ids), IN_LIST):
            part = [str(case_id) for case_id in case_ids[i:i + IN_LIST]]
            for case_id, wrapped, erased_at in self._run(
                    f"SELECT case_id, wrapped_key, erased_at FROM {TABLE} WHERE case_id IN "
                    f"({','.join('?' * len(part))})", tuple(part)):
                found[UUID(case_id)] = (wrapped, erased_at)
        return found

    def _insert(self, case_id: UUID, wrapped: bytes) -> None:
        self._run(f"INSERT OR IGNORE INTO {TABLE} (case_id, wrapped_key) VALUES (?, ?)",
                  (str(case_id), wrapped))

    def _insert_all(self, rows: list[tuple[UUID, bytes]]) -> None:
        with self._db_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    f"INSERT OR IGNORE INTO {TABLE} (case_id, wrapped_key) VALUES (?, ?)",
                    [(str(case_id), wrapped) for case_id, wrapped in rows])
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _shred(self, case_id: UUID, at: datetime) -> None:
        self._run(f"INSERT INTO {TABLE} (case_id, wrapped_key, erased_at) VALUES (?, NULL, ?) "
                  "ON CONFLICT (case_id) DO UPDATE SET wrapped_key = NULL, "
                  "erased_at = excluded.erased_at", (str(case_id), at.isoformat()))
        self._run("VACUUM")
        with self._db_lock:
            truncate_wal(self._conn)

    def close(self) -> None:
        self._conn.close()
