"""The read store on SQLite: one file beside the node's events file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from projections.projection import Doc
from services.readside import store as shared


class SqliteReadStore:
    def __init__(self, path: Path | str) -> None:
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                     timeout=30)
        self._lock = threading.Lock()
        self._known: set[str] = set()
        # Write-ahead log: a projection's commit appends to one file, and pages are read
        # while the worker writes. Nothing here is personal, and all of it can be rebuilt
        # from the store, so a commit is synced at checkpoints, not each time.
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
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

    def _ensure(self, c: sqlite3.Cursor, name: str, indexes: bool = True) -> str:
        table = shared.table_name(name)
        if name not in self._known:
            c.execute(f"CREATE TABLE IF NOT EXISTS {table} "
                      "(key TEXT PRIMARY KEY, doc TEXT NOT NULL)")
            ddl = shared.index_ddl(name) if name in shared.INDEXED else []
            for statement in ddl if indexes else ddl[:1]:
                c.execute(statement)
            self._known.add(name)
        return table

    def indexed(self, name: str) -> bool:
        """Whether the index table is there with every column (a store written before it
        was, or before a column was added, is not: an outdated table is dropped)."""
        with self._tx(write=True) as c:
            have = {row[1] for row in c.execute(f"PRAGMA table_info({shared.index_table(name)})")}
            if have and have != {"key", *shared.INDEXED[name].columns}:
                c.execute(f"DROP TABLE {shared.index_table(name)}")
                self._known.discard(name)
                have = set()
        return bool(have)

    def page(self, name: str, query: shared.Query) -> tuple[list[tuple[Any, ...]], int]:
        page, count, params = shared.query_sql(name, query, "?")
        with self._tx() as c:
            self._ensure(c, name)
            rows = [tuple(r) for r in c.execute(page, shared.page_params(query, params))]
            total = c.execute(count, params).fetchone()[0]
        return rows, int(total)

    def plan(self, name: str, query: shared.Query) -> str:
        """How SQLite finds the page (EXPLAIN QUERY PLAN), for operators and tests."""
        page, _, params = shared.query_sql(name, query, "?")
        with self._tx() as c:
            self._ensure(c, name)
            steps = c.execute("EXPLAIN QUERY PLAN " + page, shared.page_params(query, params))
            return "\n".join(str(step[-1]) for step in steps)

    def reindex(self, name: str, rows: shared.Index, versions: Mapping[str, int]) -> None:
        with self._tx(write=True) as c:
            self._ensure(c, name)
            c.executemany(shared.reindex_sql(name, "?"),
                          [shared.reindex_values(name, k, r, versions[k]) for k, r in rows.items()])

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
                    out[key] = shared.load(doc)
        return out

    def rows(self, name: str) -> list[tuple[str, str]]:
        with self._tx() as c:
            table = self._ensure(c, name)
            return [(k, d) for k, d in c.execute(f"SELECT key, doc FROM {table} ORDER BY key")]

    def all(self, name: str) -> dict[str, Doc]:
        return {key: shared.load(doc) for key, doc in self.rows(name)}

    def commit(self, name: str, changes: shared.Changes, position: int | None = None,
               expected: int | None = None, index: shared.Index | None = None) -> None:
        with self._tx(write=True) as c:
            table = self._ensure(c, name)
            if position is not None:
                shared.check_position(_sqlite_position(c, name), expected, name)
                c.execute("INSERT INTO projection_tracking (name, position) VALUES (?, ?) "
                          "ON CONFLICT (name) DO UPDATE SET position=excluded.position",
                          (name, position))
            c.executemany(f"DELETE FROM {table} WHERE key=?",
                          [(k,) for k, d in changes.items() if d is None])
            c.executemany(f"INSERT INTO {table} (key, doc) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET doc=excluded.doc",
                          [(k, shared.dump(d)) for k, d in changes.items() if d is not None])
            if index:
                c.executemany(f"DELETE FROM {shared.index_table(name)} WHERE key=?",
                              [(k,) for k, r in index.items() if r is None])
                c.executemany(shared.upsert_sql(name, "?"), [shared.row_values(name, k, r)
                                                      for k, r in index.items() if r is not None])

    def reset(self, name: str, indexes: bool = True) -> None:
        with self._tx(write=True) as c:
            c.execute(f"DROP TABLE IF EXISTS {shared.table_name(name)}")
            c.execute(f"DROP TABLE IF EXISTS {shared.index_table(name)}")
            self._known.discard(name)
            self._ensure(c, name, indexes)
            c.execute("DELETE FROM projection_tracking WHERE name=?", (name,))

    def add_indexes(self, name: str) -> None:
        with self._tx(write=True) as c:
            for statement in shared.index_ddl(name)[1:] if name in shared.INDEXED else []:
                c.execute(statement)

    def close(self) -> None:
        self._conn.close()


def _sqlite_position(c: sqlite3.Cursor, name: str) -> int:
    row = c.execute("SELECT position FROM projection_tracking WHERE name=?", (name,)).fetchone()
    return int(row[0]) if row else 0
