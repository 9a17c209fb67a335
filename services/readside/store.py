"""Where read models keep their documents and positions: the abstract read store.

Each store is a module of its backend (`services/backends/sqlite_reads.py`,
`postgres_reads.py`) and imports only this one; the composition root
(services/bootstrap.py) picks the backend.

One table per projection (`projection_<name>`: key, JSON document) and one table of
positions (`projection_tracking`). A projection that pages (the board, the hand-offs)
also has an index table (`projection_<name>_index`: key and the columns of `INDEXED`,
each with its database indexes), written in the same transaction as its documents, so
a page is found by the database and only its documents are read. `commit` writes a
batch's documents and the new position in ONE transaction, and only if the position is
still the one the batch started from: a crash never leaves documents ahead of or behind
their position, and two workers of one projection cannot both apply the same events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import orjson

from projections.projection import Doc

NAME = re.compile(r"^[a-z][a-z_]{0,30}$")
Changes = Mapping[str, Doc | None]  # key -> new document, or None to remove it
Index = Mapping[str, Any | None]  # key -> its indexed columns (a dataclass), or None


@dataclass(frozen=True)
class IndexTable:
    columns: dict[str, str]  # name -> SQL type, the same in SQLite and PostgreSQL
    indexes: dict[str, tuple[str, ...]]  # index name -> its columns, in order


# Booleans are kept as 0/1 integers, times as fixed-width UTC text (projections.board.instant).
INDEXED: dict[str, IndexTable] = {
    "board": IndexTable(
        columns={"version": "INTEGER", "status": "TEXT", "open": "INTEGER",
                 "status_from": "TEXT", "status_until": "TEXT", "partner": "TEXT",
                 "urgent": "INTEGER", "updated_at": "TEXT", "overdue_at": "TEXT",
                 "assigned_to": "TEXT", "approvals": "INTEGER"},
        indexes={"urgent": ("urgent", "updated_at", "key"),
                 "status": ("status", "urgent", "updated_at", "key"),
                 "open": ("open", "urgent", "updated_at", "key"),
                 "partner": ("partner", "urgent", "updated_at", "key"),
                 "updated": ("updated_at", "key"),
                 "overdue": ("overdue_at", "key"),
                 "until": ("status_until",), "since": ("status_from",),
                 "assigned": ("assigned_to", "urgent", "updated_at", "key"),
                 "approvals": ("approvals", "updated_at", "key")}),
    "handoffs": IndexTable(
        columns={"in_transit": "INTEGER", "partner": "TEXT", "departed_at": "TEXT",
                 "confirm_by": "TEXT"},
        indexes={"transit": ("in_transit", "confirm_by", "departed_at", "key"),
                 "departed": ("in_transit", "departed_at", "key")}),
    # The monitor's alert deliveries (services/alerts/deliveries.py): those still waiting
    # by when they are next due, each subscription's in order, the finished by when.
    "alert_deliveries": IndexTable(
        columns={"waiting": "INTEGER", "next_at": "TEXT", "subscription": "TEXT",
                 "created_at": "TEXT", "finished_at": "TEXT"},
        indexes={"due": ("waiting", "next_at", "key"),
                 "subscription": ("subscription", "created_at", "key"),
                 "finished": ("waiting", "finished_at", "key")}),
}
OPERATORS = ("=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Where:
    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class Query:
    """A page of an index table: rows meeting every condition, in order, then paged."""

    where: tuple[Where, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()  # (column, descending)
    limit: int | None = 50
    offset: int = 0
    also: tuple[str, ...] = field(default=())  # columns returned beside the key


class StalePosition(Exception):
    """Another worker moved the projection on since this batch was read."""


class ReadStore(Protocol):
    def position(self, name: str) -> int: ...
    def load(self, name: str, keys: Iterable[str]) -> dict[str, Doc]: ...
    def all(self, name: str) -> dict[str, Doc]: ...
    def rows(self, name: str) -> list[tuple[str, str]]: ...
    def commit(self, name: str, changes: Changes, position: int | None = None,
               expected: int | None = None, index: Index | None = None) -> None: ...
    def page(self, name: str, query: Query) -> tuple[list[tuple[Any, ...]], int]: ...
    def plan(self, name: str, query: Query) -> str: ...
    def reindex(self, name: str, rows: Index, versions: Mapping[str, int]) -> None: ...
    def indexed(self, name: str) -> bool:
        """Whether the index table is there with every column of `INDEXED` (one kept
        before a column was added is dropped, to be made and filled again)."""
    def reset(self, name: str, indexes: bool = True) -> None:
        """Empty the read model. `indexes=False` leaves its index table without the
        database indexes of `INDEXED` until `add_indexes` (a rebuild: each index built
        once over the filled table, not kept in order row by row)."""
    def add_indexes(self, name: str) -> None: ...
    def close(self) -> None: ...


def table_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"not a projection name: {name!r}")
    return f"projection_{name}"


def dump(doc: Doc) -> str:
    # Sorted keys: the same document is the same text, so rows compare exactly. orjson
    # writes it about four times as fast as the standard library (a rebuild writes every
    # document once; the projection worker, each document a batch changed).
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def load(text: str | bytes) -> Doc:
    """A document as `dump` wrote it (or the standard library's JSON, as it was written
    before)."""
    return cast(Doc, orjson.loads(text))


def check_position(actual: int, expected: int | None, name: str) -> None:
    if expected is not None and actual != expected:
        raise StalePosition(f"{name} is at {actual}, not {expected}")


# -- index tables, in the SQL both stores speak (`mark` is the parameter marker) ----------

def index_table(name: str) -> str:
    return table_name(name) + "_index"


def qualified(name: str, schema: str | None) -> str:
    """The index table's name, in the schema if one is given (quoted as an identifier)."""
    table = index_table(name)
    return table if schema is None else '"' + schema.replace('"', '""') + '".' + table


def index_ddl(name: str, text: str = "TEXT", schema: str | None = None) -> list[str]:
    """`text`: the store's text type that orders as bytes (PostgreSQL's needs the C
    collation, else a locale's order would not be the order of times and ids)."""
    spec, table = INDEXED[name], qualified(name, schema)
    columns = ", ".join(f"{c} {text if t == 'TEXT' else t} NOT NULL"
                        for c, t in spec.columns.items())
    out = [f"CREATE TABLE IF NOT EXISTS {table} (key {text} PRIMARY KEY, {columns})"]
    out += [f"CREATE INDEX IF NOT EXISTS {index_table(name)}_{i} ON {table} "
            f"({', '.join(cols)})" for i, cols in spec.indexes.items()]
    return out


def row_values(name: str, key: str, row: Any) -> tuple[Any, ...]:
    # Each indexed column is a field of plain value of the row (`INDEXED`).
    return (key, *(int(v) if isinstance(v, bool) else v
                   for v in (getattr(row, c) for c in INDEXED[name].columns)))


def upsert_sql(name: str, mark: str, schema: str | None = None) -> str:
    columns = list(INDEXED[name].columns)
    marks = ", ".join([mark] * (len(columns) + 1))
    sets = ", ".join(f"{c}=excluded.{c}" for c in columns)
    return (f"INSERT INTO {qualified(name, schema)} (key, {', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT (key) DO UPDATE SET {sets}")


def reindex_sql(name: str, mark: str, schema: str | None = None) -> str:
    """Rewrite a row's columns only if its document is still at the version read."""
    columns = list(INDEXED[name].columns)
    sets = ", ".join(f"{c}={mark}" for c in columns)
    return f"UPDATE {qualified(name, schema)} SET {sets} WHERE key={mark} AND version={mark}"


def reindex_values(name: str, key: str, row: Any, version: int) -> tuple[Any, ...]:
    return (*row_values(name, key, row)[1:], key, version)


def query_sql(name: str, query: Query, mark: str, schema: str | None = None
              ) -> tuple[str, str, list[Any]]:
    """The page's SELECT and its count's, and their parameters (the page's limit and
    offset last)."""
    known = {"key", *INDEXED[name].columns}
    for column in [w.column for w in query.where] + [c for c, _ in query.order] + list(query.also):
        if column not in known:
            raise ValueError(f"{name} has no indexed column {column!r}")
    if any(w.op not in OPERATORS for w in query.where):
        raise ValueError("not a comparison")
    table = qualified(name, schema)
    where = " AND ".join(f"{w.column} {w.op} {mark}" for w in query.where) or "1=1"
    params = [int(w.value) if isinstance(w.value, bool) else w.value for w in query.where]
    order = ", ".join(f"{c} {'DESC' if desc else 'ASC'}" for c, desc in query.order)
    select = ", ".join(("key", *query.also))
    page = f"SELECT {select} FROM {table} WHERE {where}"
    if order:
        page += f" ORDER BY {order}"
    if query.limit is not None:
        page += f" LIMIT {mark} OFFSET {mark}"
    return page, f"SELECT count(*) FROM {table} WHERE {where}", params


def page_params(query: Query, params: list[Any]) -> list[Any]:
    return params + ([query.limit, query.offset] if query.limit is not None else [])
