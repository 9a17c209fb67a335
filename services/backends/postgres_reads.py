"""The read store on PostgreSQL, and the barrier that tells a lasting gap in the
notification log from one a slower transaction is still about to fill.

Why the barrier: a notification id is taken from a sequence when a row is inserted,
but becomes visible only when its transaction commits. eventsourcing's recorder
serialises its inserts with an EXCLUSIVE table lock, so ids normally become visible
in order; but a writer that does not take the lock (eventsourcing with
POSTGRES_ENABLE_DB_FUNCTIONS, or any other inserter) can commit id N+1 before id N.
A reader that moved past N would never see it. And ids rolled back (a refused
concurrent save) leave gaps that are never filled. A SHARE lock on the events table
is granted only once every transaction that inserted into it has ended, so a gap
still there after it is a lasting one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from projections.projection import Doc
from services.readside import store as shared

TEXT = 'TEXT COLLATE "C"'  # ordered as bytes: the order of fixed-width times and of ids


def conninfo(env: Mapping[str, str]) -> str:
    return psycopg.conninfo.make_conninfo(
        host=env.get("POSTGRES_HOST", "127.0.0.1"), port=env.get("POSTGRES_PORT", "5432"),
        dbname=env.get("POSTGRES_DBNAME", "postgres"), user=env.get("POSTGRES_USER", "postgres"),
        password=env.get("POSTGRES_PASSWORD") or None,
    )


class PostgresReadStore:
    def __init__(self, dsn: str, schema: str = "public") -> None:
        self._conn = psycopg.connect(dsn)
        self._schema = schema
        self._lock = threading.Lock()
        self._known: set[str] = set()
        with self._tx() as c:
            c.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, "
                              "position bigint NOT NULL)").format(self._id("projection_tracking")))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PostgresReadStore:
        return cls(conninfo(env), env.get("POSTGRES_SCHEMA") or "public")

    def _id(self, table: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self._schema), sql.Identifier(table))

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._lock, self._conn.transaction(), self._conn.cursor() as c:
            yield c

    def _ensure(self, c: psycopg.Cursor[Any], name: str, indexes: bool = True) -> sql.Composed:
        table = self._id(shared.table_name(name))
        if name not in self._known:
            c.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, "
                              "doc text NOT NULL)").format(table))
            ddl = shared.index_ddl(name, TEXT, self._schema) if name in shared.INDEXED else []
            for statement in ddl if indexes else ddl[:1]:
                c.execute(_sql(statement))
            self._known.add(name)
        return table

    def indexed(self, name: str) -> bool:
        """Whether the index table is there with every column (a store written before it
        was, or before a column was added, is not: an outdated table is dropped)."""
        with self._tx() as c:
            have = {row[0] for row in c.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (self._schema, shared.index_table(name)))}
            if have and have != {"key", *shared.INDEXED[name].columns}:
                c.execute(_sql(f"DROP TABLE {shared.qualified(name, self._schema)}"))
                self._known.discard(name)
                have = set()
        return bool(have)

    def page(self, name: str, query: shared.Query) -> tuple[list[tuple[Any, ...]], int]:
        page, count, params = shared.query_sql(name, query, "%s", self._schema)
        with self._tx() as c:
            self._ensure(c, name)
            rows = [tuple(r) for r in c.execute(_sql(page), shared.page_params(query, params))]
            found = c.execute(_sql(count), params).fetchone()
        return rows, int(found[0]) if found else 0

    def plan(self, name: str, query: shared.Query) -> str:
        """How PostgreSQL finds the page (EXPLAIN), for operators and tests."""
        page, _, params = shared.query_sql(name, query, "%s", self._schema)
        with self._tx() as c:
            self._ensure(c, name)
            steps = c.execute(_sql("EXPLAIN " + page), shared.page_params(query, params))
            return "\n".join(str(step[0]) for step in steps)

    def reindex(self, name: str, rows: shared.Index, versions: Mapping[str, int]) -> None:
        with self._tx() as c:
            self._ensure(c, name)
            c.executemany(_sql(shared.reindex_sql(name, "%s", self._schema)),
                          [shared.reindex_values(name, k, r, versions[k]) for k, r in rows.items()])

    def analyse(self, name: str) -> None:
        """Fresh planner statistics for the index table (after a bulk load)."""
        with self._tx() as c:
            self._ensure(c, name)
            c.execute(_sql(f"ANALYZE {shared.qualified(name, self._schema)}"))

    def position(self, name: str) -> int:
        with self._tx() as c:
            return self._position(c, name)

    def _position(self, c: psycopg.Cursor[Any], name: str, lock: bool = False) -> int:
        query = sql.SQL("SELECT position FROM {} WHERE name=%s").format(
            self._id("projection_tracking"))
        row = c.execute(query + sql.SQL(" FOR UPDATE") if lock else query, (name,)).fetchone()
        return int(row[0]) if row else 0

    def load(self, name: str, keys: Iterable[str]) -> dict[str, Doc]:
        with self._tx() as c:
            table = self._ensure(c, name)
            c.execute(sql.SQL("SELECT key, doc FROM {} WHERE key = ANY(%s)").format(table),
                      (list(set(keys)),))
            return {key: shared.load(doc) for key, doc in c.fetchall()}

    def rows(self, name: str) -> list[tuple[str, str]]:
        with self._tx() as c:
            table = self._ensure(c, name)
            c.execute(sql.SQL("SELECT key, doc FROM {} ORDER BY key").format(table))
            return [(k, d) for k, d in c.fetchall()]

    def all(self, name: str) -> dict[str, Doc]:
        return {key: shared.load(doc) for key, doc in self.rows(name)}

    def commit(self, name: str, changes: shared.Changes, position: int | None = None,
               expected: int | None = None, index: shared.Index | None = None) -> None:
        with self._tx() as c:
            table = self._ensure(c, name)
            if position is not None:
                # The row lock makes the check and the move one step for concurrent workers.
                shared.check_position(self._position(c, name, lock=True), expected, name)
                c.execute(sql.SQL("INSERT INTO {} (name, position) VALUES (%s, %s) "
                                  "ON CONFLICT (name) DO UPDATE SET position=excluded.position")
                          .format(self._id("projection_tracking")), (name, position))
            gone = [k for k, d in changes.items() if d is None]
            if gone:
                c.execute(sql.SQL("DELETE FROM {} WHERE key = ANY(%s)").format(table), (gone,))
            kept = [(k, shared.dump(d)) for k, d in changes.items() if d is not None]
            if kept:
                c.executemany(sql.SQL("INSERT INTO {} (key, doc) VALUES (%s, %s) ON CONFLICT "
                                      "(key) DO UPDATE SET doc=excluded.doc").format(table), kept)
            if index:
                gone = [k for k, r in index.items() if r is None]
                if gone:
                    c.execute(_sql(f"DELETE FROM {shared.qualified(name, self._schema)} "
                                   "WHERE key = ANY(%s)"), (gone,))
                rows = [shared.row_values(name, k, r) for k, r in index.items() if r is not None]
                if rows:
                    c.executemany(_sql(shared.upsert_sql(name, "%s", self._schema)), rows)

    def reset(self, name: str, indexes: bool = True) -> None:
        with self._tx() as c:
            c.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._id(shared.table_name(name))))
            c.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._id(shared.index_table(name))))
            self._known.discard(name)
            self._ensure(c, name, indexes)
            c.execute(sql.SQL("DELETE FROM {} WHERE name=%s").format(
                self._id("projection_tracking")), (name,))

    def add_indexes(self, name: str) -> None:
        if name in shared.INDEXED:
            with self._tx() as c:
                for statement in shared.index_ddl(name, TEXT, self._schema)[1:]:
                    c.execute(_sql(statement))

    def close(self) -> None:
        self._conn.close()


def _sql(text: str) -> sql.SQL:
    # Statements built from the fixed names in services.readside.store, never from input.
    return sql.SQL(text)


class PostgresGapBarrier:
    """Answers: may a reader pass over the missing ids in [first, before)?"""

    def __init__(self, env: Mapping[str, str], schema: str, table: str,
                 wait: float = 0.5) -> None:
        self._dsn = conninfo(env)
        self._table = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        self._wait_ms = int(wait * 1000)

    def settled(self, first: int, before: int) -> bool:
        try:
            with psycopg.connect(self._dsn) as conn, conn.transaction(), conn.cursor() as c:
                c.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(
                    sql.Literal(f"{self._wait_ms}ms")))
                c.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(self._table))
                c.execute(sql.SQL("SELECT count(*) FROM {} WHERE notification_id >= %s "
                                  "AND notification_id < %s").format(self._table), (first, before))
                row = c.fetchone()
                # Rows that appeared will be read next time; none means the gap lasts.
                return row is not None and row[0] == 0
        except psycopg.errors.LockNotAvailable:
            return False  # a writer is still in flight
