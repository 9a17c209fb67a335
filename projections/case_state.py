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
    utc,
)
from events.values import Kind, RiskLevel, Scope, Side

_ENUMS: dict[str, type[Enum]] = {e.__name__: e for e in (Kind, RiskLevel, Scope, Side)}
_RECORDS: dict[str, type[Any]] = {c.__name__: c for c in (Approval, Assessment, Measure,
                                                           OpenJusticeRequest, Proceeding,
                                                           Transport)}
PERSONAL = ("person",)
_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(CaseState))


def encode_state(state: CaseState) -> dict[str, Any]:
    return encode_state_days(state)[0]


def encode_state_days(state: CaseState) -> tuple[dict[str, Any], set[date]]:
    """The encoded state, and every date and time it holds as a day (a time's UTC day),
    found while encoding it. Most values are plain (text, numbers, null, flags): kept as
    they are without a call."""
    values = vars(state)
    days: set[date] = set()
    return {name: None if name in PERSONAL else value if type(value) in _PLAIN
            else _encode(value, days) for name in _STATE_FIELDS for value in (values[name],)}, days


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


def _encode(value: Any, days: set[date]) -> Any:
    # Tagged JSON, so that decoding restores enums, dates and sets exactly. Dispatched on
    # the exact type (a dict lookup, not a chain of checks: a state encodes some seventy
    # values), then by kind for the subclasses (each enum is its own type). Each date and
    # time goes into `days` as its day.
    encoder = _BY_TYPE.get(type(value))
    if encoder is not None:
        return encoder(value, days)
    if isinstance(value, Enum):
        return {"~e": type(value).__name__, "v": value.value}
    if isinstance(value, datetime):
        return _time(value, days)
    if isinstance(value, date):
        return _day(value, days)
    if isinstance(value, set | frozenset):
        return _set(value, days)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        raise TypeError(f"no read-model encoding for {type(value).__name__}")
    if isinstance(value, dict):
        return _map(value, days)
    if isinstance(value, list | tuple):
        return [_encode(v, days) for v in value]
    if isinstance(value, str | int | float):
        return value
    raise TypeError(f"no read-model encoding for {type(value).__name__}")


def _same(value: Any, days: set[date]) -> Any:
    return value


def _time(value: datetime, days: set[date]) -> dict[str, Any]:
    days.add(utc(value).date())
    return {"~t": value.isoformat()}


def _day(value: date, days: set[date]) -> dict[str, Any]:
    days.add(value)
    return {"~d": value.isoformat()}


def _set(value: set[Any] | frozenset[Any], days: set[date]) -> dict[str, Any]:
    return {"~s": sorted((_encode(v, days) for v in value), key=repr)}


def _map(value: dict[Any, Any], days: set[date]) -> dict[str, Any]:
    return {"~m": [[k if type(k) in _PLAIN else _encode(k, days),
                    v if type(v) in _PLAIN else _encode(v, days)] for k, v in value.items()]}


def _record(cls: type[Any]) -> Any:
    names = tuple(f.name for f in dataclasses.fields(cls))

    def encode(value: Any, days: set[date]) -> dict[str, Any]:
        values = vars(value)
        return {"~c": cls.__name__, "f": {n: v if type(v) in _PLAIN else _encode(v, days)
                                          for n in names for v in (values[n],)}}
    return encode


def _member(cls: type[Enum]) -> Any:
    # `_value_`, the member's own attribute: `.value` is a property, a call each time.
    name = cls.__name__
    return lambda value, days: {"~e": name, "v": value._value_}


_BY_TYPE: dict[type[Any], Any] = {
    str: _same, int: _same, float: _same, bool: _same, type(None): _same,
    datetime: _time, date: _day, set: _set, frozenset: _set, dict: _map,
    list: lambda v, days: [_encode(x, days) for x in v],
    tuple: lambda v, days: [_encode(x, days) for x in v],
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
