"""A case's state as a read model keeps it: JSON, with every personal field left out.

The status board needs the whole `CaseState` because status and blocking items depend
on the time of the query (an assessment expires, a document runs out), so the board
stores the state the events determined and asks `events.progress` at query time.
Names and free text never reach a read model: `person` is dropped, and the state holds
of a safety plan only the fact that one is in place.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any

from events.case import (
    Approval,
    Assessment,
    Case,
    CaseEvent,
    CaseState,
    Measure,
    OpenJusticeRequest,
    Proceeding,
    Transport,
)
from events.values import Kind, RiskLevel, Scope, Side

_ENUMS: dict[str, type[Enum]] = {e.__name__: e for e in (Kind, RiskLevel, Scope, Side)}
_RECORDS: dict[str, type[Any]] = {c.__name__: c for c in (Approval, Assessment, Measure,
                                                           OpenJusticeRequest, Proceeding,
                                                           Transport)}
PERSONAL = ("person",)
_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(CaseState))


def encode_state(state: CaseState) -> dict[str, Any]:
    # Most values are plain (text, numbers, null, flags): kept as they are without a call.
    values = vars(state)
    return {name: None if name in PERSONAL else value if type(value) in _PLAIN
            else _encode(value) for name in _STATE_FIELDS for value in (values[name],)}


def decode_state(doc: dict[str, Any]) -> CaseState:
    # Most values are plain (text, numbers, null): kept as they are without a call each.
    return CaseState(**{name: _decode(value) if type(value) in _TAGGED else value
                        for name, value in doc.items()})


def shell(state: CaseState) -> Case:
    """A Case holding only its state: all that status, blocking and clocks read."""
    case: Case = object.__new__(Case)
    case.state = state
    return case


def advance(state: CaseState | None, event: CaseEvent) -> CaseState:
    """The state after `event`, from the state before it (None before the opening)."""
    case = shell(state if state is not None else CaseState())
    event.change(case)
    return case.state


def _encode(value: Any) -> Any:
    # Tagged JSON, so that decoding restores enums, dates and sets exactly. Dispatched on
    # the exact type (a dict lookup, not a chain of checks: a state encodes some seventy
    # values), then by kind for the subclasses (each enum is its own type).
    encoder = _BY_TYPE.get(type(value))
    if encoder is not None:
        return encoder(value)
    if isinstance(value, Enum):
        return {"~e": type(value).__name__, "v": value.value}
    if isinstance(value, datetime):
        return {"~t": value.isoformat()}
    if isinstance(value, date):
        return {"~d": value.isoformat()}
    if isinstance(value, set | frozenset):
        return _set(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        raise TypeError(f"no read-model encoding for {type(value).__name__}")
    if isinstance(value, dict):
        return _map(value)
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, str | int | float):
        return value
    raise TypeError(f"no read-model encoding for {type(value).__name__}")


def _same(value: Any) -> Any:
    return value


def _set(value: set[Any] | frozenset[Any]) -> dict[str, Any]:
    return {"~s": sorted((_encode(v) for v in value), key=repr)}


def _map(value: dict[Any, Any]) -> dict[str, Any]:
    return {"~m": [[k if type(k) in _PLAIN else _encode(k), v if type(v) in _PLAIN else _encode(v)]
                   for k, v in value.items()]}


def _record(cls: type[Any]) -> Any:
    names = tuple(f.name for f in dataclasses.fields(cls))

    def encode(value: Any) -> dict[str, Any]:
        values = vars(value)
        return {"~c": cls.__name__, "f": {n: v if type(v) in _PLAIN else _encode(v)
                                          for n in names for v in (values[n],)}}
    return encode


def _member(cls: type[Enum]) -> Any:
    # `_value_`, the member's own attribute: `.value` is a property, a call each time.
    name = cls.__name__
    return lambda value: {"~e": name, "v": value._value_}


_BY_TYPE: dict[type[Any], Any] = {
    str: _same, int: _same, float: _same, bool: _same, type(None): _same,
    datetime: lambda v: {"~t": v.isoformat()}, date: lambda v: {"~d": v.isoformat()},
    set: _set, frozenset: _set, dict: _map,
    list: lambda v: [_encode(x) for x in v], tuple: lambda v: [_encode(x) for x in v],
    **{cls: _record(cls) for cls in _RECORDS.values()},
    **{cls: _member(cls) for cls in _ENUMS.values()},
}


_PLAIN = frozenset({str, int, float, bool, type(None)})
_TAGGED = (list, dict)  # what JSON decoding makes of a tagged or a nested value


def _decode(value: Any) -> Any:
    if type(value) is list:
        return [_decode(v) if type(v) in _TAGGED else v for v in value]
    if type(value) is not dict:
        return value
    if "~e" in value:
        return _ENUMS[value["~e"]](value["v"])
    if "~t" in value:
        return datetime.fromisoformat(value["~t"])
    if "~d" in value:
        return date.fromisoformat(value["~d"])
    if "~s" in value:
        return {_decode(v) for v in value["~s"]}
    if "~c" in value:
        fields = {k: _decode(v) for k, v in value["f"].items()}
        if value["~c"] == "Assessment" and "safety_plan" in fields:  # kept before the flag
            fields["safety_plan_in_place"] = bool(fields.pop("safety_plan"))
        return _RECORDS[value["~c"]](**fields)
    if "~m" in value:
        return {_decode(k): _decode(v) for k, v in value["~m"]}
    raise ValueError(f"not a read-model encoding: {sorted(value)}")
