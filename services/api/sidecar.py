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
from urllib.parse import parse_qs, urlparse

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Result:
    rowcount: int
    rows: list[Row]


class Sidecar(Protocol):
    """SQL with `?` placeholders, one statement per call, committed at once."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result: ...

    def table(self, name: str) -> str: ...


class SQLiteSidecar:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one writer at a time; reads are short too

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result:
        with self._lock, sqlite3.connect(self.path, timeout=30) as conn:
            cursor = conn.execute(sql, tuple(params))
            return Result(cursor.rowcount, cursor.fetchall())

    def table(self, name: str) -> str:
        return name


class PostgresSidecar:
    def __init__(self, url: str) -> None:
        parts = urlparse(url)
        self.url = parts._replace(query="").geturl()
        self.schema = (parse_qs(parts.query).get("schema") or [""])[0]

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), tuple(params))
            rows = cursor.fetchall() if cursor.description else []
            return Result(cursor.rowcount, [tuple(r) for r in rows])

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}' if self.schema else name
