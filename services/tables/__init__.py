"""The node's own small tables (idempotency keys, the access log, checkpoints,
deliveries) beside the event store: what a table of them needs of its database.

On SQLite they live in their own file in the node's data dir, so they never
contend with the event store's writer; on PostgreSQL they are tables in the
node's database (and schema, when the URL names one). Each backend's connection is its
own (services/backends/).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Result:
    rowcount: int
    rows: list[Row]


class Tables(Protocol):
    """SQL with `?` placeholders, one statement per call, committed at once."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> Result: ...

    def table(self, name: str) -> str: ...

    def shred(self) -> None:
        """After an erasure: what the tables overwrote is left in no file (SQLite's
        write-ahead log copied back and truncated; nothing to do on PostgreSQL)."""

    def close(self) -> None: ...
