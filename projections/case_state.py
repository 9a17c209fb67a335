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
_RECORDS: dict[str, type[Any]] = {c.__name__: c for c in (Assessment, Measure,
                                                           OpenJusticeRequest, Proceeding,
                                                           Transport)}
PERSONAL = ("person",)


def encode_state(state: CaseState) -> dict[str, Any]:
    kept = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    for name in PERSONAL:
        kept[name] = None
    return {name: _encode(value) for name, value in kept.items()}


def decode_state(doc: dict[str, Any]) -> CaseState:
    return CaseState(**{name: _decode(value) for name, value in doc.items()})


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
    # Tagged JSON, so that decoding restores enums, dates and sets exactly.
    if isinstance(value, Enum):
        return {"~e": type(value).__name__, "v": value.value}
    if isinstance(value, datetime):
        return {"~t": value.isoformat()}
    if isinstance(value, date):
        return {"~d": value.isoformat()}
    if isinstance(value, set | frozenset):
        return {"~s": sorted((_encode(v) for v in value), key=repr)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__name__ not in _RECORDS:
            raise TypeError(f"no read-model encoding for {type(value).__name__}")
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"~c": type(value).__name__, "f": fields}
    if isinstance(value, dict):
        return {"~m": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"no read-model encoding for {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
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
