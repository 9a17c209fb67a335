"""Each case's own key, kept wrapped under the node's key, and destroyed on erasure.

The key table lies beside the event store: a SQLite file next to the events file, or a
table in the node's PostgreSQL schema. A row holds the case's key encrypted with the
node's cipher; erasing the case overwrites it with NULL and records when. A case with
an erased row never gets a new key, so nothing personal can be written for it again.

SQLite keeps no trace of a destroyed key: `secure_delete` zeroes freed content, and the
erasure ends with a VACUUM and the write-ahead log copied back and truncated to nothing
(`files.truncate_wal`) before it returns. On PostgreSQL the row is overwritten and the
table vacuumed, but the old row version can outlive the erasure in free space, the WAL,
replicas and backups (still wrapped under the node's key): docs/architecture.md,
"Erasure on PostgreSQL".
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.cipher import Cipher

from services.files import truncate_wal
from services.settings import conninfo

KEY_BYTES = 32
FRESH_SECONDS = 2.0  # how long a process trusts a key it read: another sees an erasure so soon
TABLE = "homeward_case_keys"


class CaseKeys(ABC):
    """Per-case keys; `wrap` is the node's cipher (None only for throwaway test stores)."""

    def __init__(self, wrap: Cipher | None) -> None:
        self._wrap = wrap
        self._fresh: dict[UUID, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def key(self, case_id: UUID, create: bool = False) -> bytes | None:
        """The case's key; None once erased (or, unless `create`, if it never had one)."""
        with self._lock:
            cached = self._fresh.get(case_id)
            if cached is not None and time.monotonic() - cached[0] < FRESH_SECONDS:
                return cached[1]
            row = self._select(case_id)
            if row is None and create:
                self._insert(case_id, self._wrapped(os.urandom(KEY_BYTES)))
                row = self._select(case_id)
            if row is None or row[0] is None:
                self._fresh.pop(case_id, None)
                return None
            key = self._wrap.decrypt(row[0]) if self._wrap is not None else row[0]
            self._fresh[case_id] = (time.monotonic(), key)
            return key

    def destroy(self, case_id: UUID, at: datetime) -> None:
        """Erase the case's key for good (again, harmlessly, if it already was)."""
        with self._lock:
            self._fresh.pop(case_id, None)
            self._shred(case_id, at)

    def erased(self, case_id: UUID) -> bool:
        row = self._select(case_id)
        return row is not None and row[0] is None

    def _wrapped(self, key: bytes) -> bytes:
        return self._wrap.encrypt(key) if self._wrap is not None else key

    @abstractmethod
    def _select(self, case_id: UUID) -> tuple[bytes | None, str | None] | None: ...

    @abstractmethod
    def _insert(self, case_id: UUID, wrapped: bytes) -> None:
        """Insert unless a row exists (another process may have just made one)."""

    @abstractmethod
    def _shred(self, case_id: UUID, at: datetime) -> None: ...

    @abstractmethod
    def close(self) -> None: ...


class MemoryCaseKeys(CaseKeys):
    """For in-memory stores: the keys live and die with the process."""

    def __init__(self, wrap: Cipher | None) -> None:
        super().__init__(wrap)
        self._rows: dict[UUID, tuple[bytes | None, str | None]] = {}

    def _select(self, case_id: UUID) -> tuple[bytes | None, str | None] | None:
        return self._rows.get(case_id)

    def _insert(self, case_id: UUID, wrapped: bytes) -> None:
        self._rows.setdefault(case_id, (wrapped, None))

    def _shred(self, case_id: UUID, at: datetime) -> None:
        self._rows[case_id] = (None, at.isoformat())

    def close(self) -> None:
        pass


class SQLiteCaseKeys(CaseKeys):
    def __init__(self, path: Path, wrap: Cipher | None) -> None:
        super().__init__(wrap)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                     timeout=30)
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

    def _insert(self, case_id: UUID, wrapped: bytes) -> None:
        self._run(f"INSERT OR IGNORE INTO {TABLE} (case_id, wrapped_key) VALUES (?, ?)",
                  (str(case_id), wrapped))

    def _shred(self, case_id: UUID, at: datetime) -> None:
        self._run(f"INSERT INTO {TABLE} (case_id, wrapped_key, erased_at) VALUES (?, NULL, ?) "
                  "ON CONFLICT (case_id) DO UPDATE SET wrapped_key = NULL, "
                  "erased_at = excluded.erased_at", (str(case_id), at.isoformat()))
        self._run("VACUUM")
        with self._db_lock:
            truncate_wal(self._conn)

    def close(self) -> None:
        self._conn.close()


class PostgresCaseKeys(CaseKeys):
    def __init__(self, dsn: str, schema: str, wrap: Cipher | None) -> None:
        import psycopg
        from psycopg import sql

        super().__init__(wrap)
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._db_lock = threading.Lock()
        self._table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(TABLE))
        self._run("CREATE TABLE IF NOT EXISTS {} (case_id uuid PRIMARY KEY, "
                  "wrapped_key bytea, erased_at text)")

    def _run(self, statement: str, args: tuple[Any, ...] = ()) -> list[Any]:
        from psycopg import sql

        with self._db_lock, self._conn.cursor() as c:
            c.execute(sql.SQL(statement).format(self._table), args)
            return c.fetchall() if c.description else []

    def _select(self, case_id: UUID) -> tuple[bytes | None, str | None] | None:
        rows = self._run("SELECT wrapped_key, erased_at FROM {} WHERE case_id = %s", (case_id,))
        if not rows:
            return None
        wrapped = rows[0][0]
        return (bytes(wrapped) if wrapped is not None else None, rows[0][1])

    def _insert(self, case_id: UUID, wrapped: bytes) -> None:
        self._run("INSERT INTO {} (case_id, wrapped_key) VALUES (%s, %s) "
                  "ON CONFLICT (case_id) DO NOTHING", (case_id, wrapped))

    def _shred(self, case_id: UUID, at: datetime) -> None:
        self._run("INSERT INTO {} (case_id, wrapped_key, erased_at) VALUES (%s, NULL, %s) "
                  "ON CONFLICT (case_id) DO UPDATE SET wrapped_key = NULL, "
                  "erased_at = excluded.erased_at", (case_id, at.isoformat()))
        self._run("VACUUM {}")

    def close(self) -> None:
        self._conn.close()


def case_keys_for(env: Mapping[str, str], wrap: Cipher | None) -> CaseKeys:
    """The key table beside the store `env` names (eventsourcing's environment)."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == "eventsourcing.postgres":
        return PostgresCaseKeys(conninfo(env), env.get("POSTGRES_SCHEMA") or "public", wrap)
    if module == "eventsourcing.sqlite":
        events = env["SQLITE_DBNAME"]
        if "memory" not in events:
            path = Path(events)
            return SQLiteCaseKeys(path.with_name(path.stem + ".keys.sqlite"), wrap)
    return MemoryCaseKeys(wrap)
