"""The copy of a case a command changes (events/copying.py): equal to the case, sharing
nothing that can change with it, whatever the case holds."""

from __future__ import annotations

import copy
from dataclasses import is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from events.case import Case, Proceeding
from events.values import Side
from tests.harness.builders import REPATRIATION, Story

CHANGING = (dict, list, set)


def changing_parts(value: Any, found: dict[int, Any] | None = None) -> dict[int, Any]:
    """Every object in `value` that could change, by id."""
    found = {} if found is None else found
    if isinstance(value, str | bytes | int | float | date | datetime | UUID | Enum) or value is None:
        return found
    if id(value) in found:
        return found
    found[id(value)] = value
    if isinstance(value, dict):
        for key, item in value.items():
            changing_parts(key, found)
            changing_parts(item, found)
    elif isinstance(value, list | set | tuple | frozenset):
        for item in value:
            changing_parts(item, found)
    elif hasattr(value, "__dict__"):
        changing_parts(vars(value), found)
    return found


def walked() -> Case:
    story = Story()
    story.run(REPATRIATION)
    case = story.xa
    case.collect_events()
    return case


def test_a_case_s_copy_is_equal_and_shares_nothing_that_changes() -> None:
    case = walked()
    twin = copy.deepcopy(case)
    assert type(twin) is Case and twin is not case
    assert vars(twin).keys() == vars(case).keys()
    assert twin.state == case.state
    assert (twin.id, twin.version, twin.last_hash, twin.last_at, twin.message_ids,
            twin.last_sequence) == (case.id, case.version, case.last_hash, case.last_at,
                                    case.message_ids, case.last_sequence)
    theirs, ours = changing_parts(case), changing_parts(twin)
    assert len(theirs) == len(ours) > 20
    assert not set(theirs) & set(ours)


def test_changing_the_copy_leaves_the_case_as_it_was() -> None:
    case = walked()
    before = copy.copy(vars(case.state))
    twin = copy.deepcopy(case)
    twin.state.consent.clear()
    twin.state.proceedings["criminal"] = Proceeding(role="witness")
    twin.state.risk[Side.REFERRING].safety_plan_in_place = False
    assert case.state.consent and "criminal" not in case.state.proceedings
    assert case.state.risk[Side.REFERRING].safety_plan_in_place
    assert vars(case.state) == before


class Unforeseen:
    """A value of a kind a case does not hold today."""

    def __init__(self) -> None:
        self.parts = [1, [2, 3]]


def test_what_the_copy_does_not_know_is_deep_copied_and_shared_references_stay_shared() -> None:
    case = walked()
    shared = ["en", "yo"]
    case.state.person = {"languages": shared, "also": shared, "odd": Unforeseen(),
                         "pair": (shared, 1)}
    twin = copy.deepcopy(case)
    person = twin.state.person
    assert person is not None and person["languages"] == shared
    assert person["languages"] is person["also"] is person["pair"][0]
    assert person["languages"] is not shared
    assert person["odd"] is not case.state.person["odd"]
    assert person["odd"].parts == [1, [2, 3]]
    assert person["odd"].parts[1] is not case.state.person["odd"].parts[1]
    assert all(is_dataclass(a) for a in twin.state.risk.values())
