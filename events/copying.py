"""A case copied for a command, by the exact type of each value it holds.

The application keeps each case in memory and gives every command a copy to change, so
that a refused step leaves the kept one as it was. `copy.deepcopy` asks each of some two
hundred values how to copy itself; a case holds only plain values, so this copies each by
a lookup on its type and leaves the rest (anything else, however it got there) to
`deepcopy`. Shared references stay shared, as with `deepcopy`.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

# Values that never change: the copy is the value itself (enumerations join as met).
PLAIN: set[type] = {str, int, float, bool, type(None), bytes, date, datetime, timedelta, UUID,
                    Decimal}


def copied(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in PLAIN:
        return value
    if kind is tuple or kind is frozenset:  # unchanging only when what they hold is
        return deepcopy(value, memo)
    seen = memo.get(id(value))
    if seen is not None:
        return seen
    # What containers hold is mostly plain (text, enumerations): kept without a call each.
    if kind is dict:
        made: Any = {}
        memo[id(value)] = made
        for key, item in value.items():
            made[key if type(key) in PLAIN else copied(key, memo)] = (
                item if type(item) in PLAIN else copied(item, memo))
        return made
    if kind is list:
        made = []
        memo[id(value)] = made
        made.extend([item if type(item) in PLAIN else copied(item, memo) for item in value])
        return made
    if kind is set:
        made = {item if type(item) in PLAIN else copied(item, memo) for item in value}
        memo[id(value)] = made
        return made
    if issubclass(kind, Enum):
        PLAIN.add(kind)
        return value
    if hasattr(kind, "__dataclass_fields__") and type(getattr(value, "__dict__", None)) is dict:
        return copied_object(value, memo)
    return deepcopy(value, memo)


def copied_object(value: Any, memo: dict[int, Any]) -> Any:
    """An object of the same class holding a copy of each of its attributes."""
    made = object.__new__(type(value))
    memo[id(value)] = made
    object.__setattr__(made, "__dict__", {
        name: item if type(item) in PLAIN else copied(item, memo)
        for name, item in vars(value).items()})
    return made
