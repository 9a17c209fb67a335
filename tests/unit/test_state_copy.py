"""A cached case is copied for each command and each received fact; the state's own copy
(`CaseState.__deepcopy__`, events/copying.py) must be equal and share nothing a step
changes in place, or a refused step would change the cached case."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from events.case import Approval, CaseState
from events.values import Side
from tests.harness.builders import T0, XA, XB
from tests.harness.given import given
from tests.unit.test_justice_home import INFORM, UNTOLD


def mutable_parts(value: Any) -> list[Any]:
    """Every object in a state that a step could change in place."""
    if isinstance(value, dict):
        return [value, *(p for v in value.values() for p in mutable_parts(v))]
    if isinstance(value, list | set):
        return [value, *(p for v in value for p in mutable_parts(v))]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [value, *(p for f in dataclasses.fields(value)
                         for p in mutable_parts(getattr(value, f.name)))]
    return []


def test_a_copied_state_is_equal_and_shares_nothing_a_step_changes() -> None:
    story = given([*UNTOLD, INFORM])
    for agency in (XA, XB):
        state = story.stream(agency).state
        state.approvals["r-1"] = Approval("closure", Side.REFERRING, "anna", T0)
        state.person = {"names": [{"given": "M"}], "languages": ["ro"]}
        assert state.proceedings or state.justice_requests
        copied = copy.deepcopy(state)
        assert copied == state and type(copied) is CaseState
        originals = {id(p) for p in mutable_parts(state)}
        assert len(originals) >= 15
        assert not originals & {id(p) for p in mutable_parts(copied)}


def test_a_case_copied_whole_takes_its_state_apart_too() -> None:
    case = given([*UNTOLD, INFORM]).stream(XA)
    copied = copy.deepcopy(case)
    assert copied.state == case.state and copied.message_ids == case.message_ids
    next(iter(copied.state.proceedings.values())).stage = "appeal"
    assert next(iter(case.state.proceedings.values())).stage != "appeal"
