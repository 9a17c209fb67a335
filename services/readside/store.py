"""Where read models keep their documents and positions: SQLite or PostgreSQL.

One table per projection (`projection_<name>`: key, JSON document) and one table of
positions (`projection_tracking`). `commit` writes a batch's documents and the new
position in ONE transaction, and only if the position is still the one the batch
started from: a crash never leaves documents ahead of or behind their position, and
two workers of one projection cannot both apply the same events.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from projections.projection import Doc

NAME = re.compile(r"^[a-z][a-z_]{0,30}$")
Changes = Mapping[str, Doc | None]  # key -> new document, or None to remove it


class StalePosition(Exception):
    """Another worker moved the projection on since this batch was read."""


class ReadStore(Protocol):
    def position(self, name: str) -> int: ...
    def load(self, name: str, keys: Iterable[str]) -> dict[str, Doc]: ...
    def all(self, name: str) -> dict[str, Doc]: ...
    def rows(self, name: str) -> list[tuple[str, str]]: ...
    def commit(self, name: str, changes: Changes, position: int | None = None,
               expected: int | None = None) -> None: ...
    def reset(self, name: str) -> None: ...
    def close(self) -> None: ...


def _table(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"not a projection name: {name!r}")
    return f"projection_{name}"


def dump(doc: Doc) -> str:
    # Sorted keys: the same document is the same text, so rows compare exactly.
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


class SqliteReadStore:
    def __init__(self, path: Path | str) -> None:
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                     timeout=30)
        self._lock = threading.Lock()
        self._known: set[str] = set()
        with self._tx(write=True) as c:
            c.execute("CREATE TABLE IF NOT EXISTS projection_tracking "
                      "(name TEXT PRIMARY KEY, position INTEGER NOT NULL)")

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            c = self._conn.cursor()
            # A writer takes the database lock at once, so it never fails half-way.
            c.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield c
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    def _ensure(self, c: sqlite3.Cursor, name: str) -> str:
        table = _table(name)
        if name not in self._known:
            c.execute(f"CREATE TABLE IF NOT EXISTS {table} "
                      "(key TEXT PRIMARY KEY, doc TEXT NOT NULL)")
            self._known.add(name)
        return table

    def position(self, name: str) -> int:
        with self._tx() as c:
            row = c.execute("SELECT position FROM projection_tracking WHERE name=?",
                            (name,)).fetchone()
        return int(row[0]) if row else 0

    def load(self, name: str, keys: Iterable[str]) -> dict[str, Doc]:
        wanted = sorted(set(keys))
        out: dict[str, Doc] = {}
        with self._tx() as c:
            table = self._ensure(c, name)
            for i in range(0, len(wanted), 500):
                part = wanted[i:i + 500]
                marks = ",".join("?" * len(part))
                for key, doc in c.execute(f"SELECT key, doc FROM {table} WHERE key IN ({marks})",
                                          part):
                    out[key] = json.loads(doc)
        return out

    def rows(self, name: str) -> list[tuple[str, str]]:
        with self._tx() as c:
            table = self._ensure(c, name)
            return [(k, d) for k, d in c.execute(f"SELECT key, doc FROM {table} ORDER BY key")]

    def all(self, name: str) -> dict[str, Doc]:
        return {key: json.loads(doc) for key, doc in self.rows(name)}

    def commit(self, name: str, changes: Changes, position: int | None = None,
               expected: int | None = None) -> None:
        with self._tx(write=True) as c:
            table = self._ensure(c, name)
            if position is not None:
                _check_position(_sqlite_position(c, name), expected, name)
                c.execute("INSERT INTO projection_tracking (name, position) VALUES (?, ?) "
                          "ON CONFLICT (name) DO UPDATE SET position=excluded.position",
                          (name, position))
            c.executemany(f"DELETE FROM {table} WHERE key=?",
                          [(k,) for k, d in changes.items() if d is None])
            c.executemany(f"INSERT INTO {table} (key, doc) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET doc=excluded.doc",
                          [(k, dump(d)) for k, d in changes.items() if d is not None])

    def reset(self, name: str) -> None:
        with self._tx(write=True) as c:
            c.execute(f"DROP TABLE IF EXISTS {_table(name)}")
            self._known.discard(name)
            self._ensure(c, name)
            c.execute("DELETE FROM projection_tracking WHERE name=?", (name,))

    def close(self) -> None:
        self._conn.close()


def _sqlite_position(c: sqlite3.Cursor, name: str) -> int:
    row = c.execute("SELECT position FROM projection_tracking WHERE name=?", (name,)).fetchone()
    return int(row[0]) if row else 0


def _check_position(actual: int, expected: int | None, name: str) -> None:
    if expected is not None and actual != expected:
        raise StalePosition(f"{name} is at {actual}, not {expected}")


def read_store_for(env: Mapping[str, str]) -> ReadStore:
    """The read store beside an eventsourcing store: the same PostgreSQL database and
    schema, or a SQLite file next to the events file."""
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        from services.projection_store_pg import PostgresReadStore

        return PostgresReadStore.from_env(env)
    events = Path(env["SQLITE_DBNAME"])
    return SqliteReadStore(events.with_name(events.stem + ".projections.sqlite"))
