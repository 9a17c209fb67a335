"""Where read models keep their documents and positions: the abstract read store.

Each store is a module of its own beside this one (`sqlite`, `postgres`) and imports
only this one; the composition root (services/bootstrap.py) picks one.

One table per projection (`projection_<name>`: key, JSON document) and one table of
positions (`projection_tracking`). `commit` writes a batch's documents and the new
position in ONE transaction, and only if the position is still the one the batch
started from: a crash never leaves documents ahead of or behind their position, and
two workers of one projection cannot both apply the same events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
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


def table_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"not a projection name: {name!r}")
    return f"projection_{name}"


def dump(doc: Doc) -> str:
    # Sorted keys: the same document is the same text, so rows compare exactly.
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def check_position(actual: int, expected: int | None, name: str) -> None:
    if expected is not None and actual != expected:
        raise StalePosition(f"{name} is at {actual}, not {expected}")
