"""The API's own small tables (idempotency keys, the access log) beside the event store.

On SQLite they live in their own file in the node's data dir, so they never
contend with the event store's writer; on PostgreSQL they are tables in the
node's database (and schema, when the URL names one).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from services.files import truncate_wal
from services.settings import postgres_env

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Result:
    rowcount: int
    rows: list[Row]


class Sidecar(Protocol):
    """SQL with `?` placeholders, one statement per call, committed at once."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result: ...

    def table(self, name: str) -> str: ...

    def shred(self) -> None:
        """After an erasure: what the tables overwrote is left in no file (SQLite's
        write-ahead log copied back and truncated; nothing to do on PostgreSQL)."""

    def close(self) -> None: ...


class SQLiteSidecar:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one writer at a time; reads are short too
        # One connection, kept, as on PostgreSQL: every read of a case writes the access log.
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
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


class PostgresSidecar:
    def __init__(self, url: str) -> None:
        self.url = urlparse(url)._replace(query="").geturl()
        self.schema = postgres_env(url).get("POSTGRES_SCHEMA", "")
        # One connection, kept: every read of a case writes the access log, and a new
        # connection per statement would cost more than the statement.
        self._conn: Any = None
        self._lock = threading.Lock()

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result:
        import psycopg

        with self._lock:
            try:
                return self._run(sql, params)
            except psycopg.OperationalError:
                if not self._conn.broken:
                    raise
                # The kept connection was dead (the server restarted, an idle timeout):
                # the statement never reached a server, so it runs once on a new one.
                return self._run(sql, params)

    def _run(self, sql: str, params: Sequence[Any]) -> Result:
        import psycopg

        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True)
        cursor = self._conn.execute(sql.replace("?", "%s"), tuple(params))
        rows = cursor.fetchall() if cursor.description else []
        return Result(cursor.rowcount, [tuple(r) for r in rows])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}' if self.schema else name

    def shred(self) -> None:
        pass  # the old row versions: docs/architecture.md, "Erasure on PostgreSQL"

