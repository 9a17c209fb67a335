"""The read models' folds without any store: the board's kept state, and the monitor's
milestones (checked, merged idempotently, counted, suppressed below k)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from events.steps import BY_EVENT
from projections.board import StatusBoard, _days, board_row
from projections.case_state import decode_state, encode_state, encode_state_days
from projections.monitor import (
    K_ANONYMITY,
    NotAMilestone,
    corridors_view,
    merge,
    parse_milestone,
    suppress_cells,
)
from tests.harness.builders import CANARY, REPATRIATION, T0, XA, XB, Story


def test_the_kept_state_decodes_to_the_same_state_without_personal_data() -> None:
    story = Story()
    story.run(REPATRIATION[:6])
    story.step(XA, "risk-assessment", safety_plan=f"with {CANARY}'s aunt")
    for agency, path in REPATRIATION[7:]:
        story.step(agency, path)
        for case in (story.xa, story.stream(XB)):
            check_round_trip(case.state)


def check_round_trip(state: Any) -> None:
    doc = encode_state(state)
    assert CANARY not in repr(doc) and "Maria" not in repr(doc)
    expected = copy.deepcopy(state)
    expected.person = None
    assert decode_state(doc) == expected
    encoded, days = encode_state_days(state)
    assert encoded == doc
    assert days == _days(doc)  # the days found while encoding: those of its JSON text


def test_a_case_is_indexed_from_its_fold_as_from_its_stored_document() -> None:
    story = Story()
    board = StatusBoard(today=lambda: T0.date())
    story.run(REPATRIATION)
    doc = board.apply_all(None, list(story.xa.pending_events))
    assert doc is not None and _days(doc["state"])
    folded = board.index(doc)
    stored = orjson.loads(orjson.dumps(doc))  # as a page reads it back
    assert folded == board_row(stored, T0.date())
    assert board.index(doc) == folded  # indexed again without the fold: the same row


def milestone(step: str, status: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"corridor": {"referring": XA, "receiving": XB}, "kind": "repatriation",
            "milestone": step, "status": status, "occurred_at": at.isoformat(),
            "minor": False, **extra}


@pytest.mark.parametrize("bad", [
    {"person": {"family_name": CANARY}},
    {"corridor": {"referring": XA, "receiving": CANARY}},
    {"corridor": {"referring": XA, "receiving": XB, "note": CANARY}},
    {"milestone": CANARY},
    {"status": CANARY},
    {"kind": CANARY},
    {"occurred_at": CANARY},
    {"due_at": CANARY},
    {"minor": CANARY},
])
def test_a_milestone_with_anything_but_its_checked_fields_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(NotAMilestone) as refused:
        parse_milestone({**milestone("referral-sent", "referred", T0), **bad})
    assert CANARY not in str(refused.value)


def test_merging_is_idempotent_and_the_latest_milestone_sets_the_status() -> None:
    sent = parse_milestone(milestone("referral-sent", "referred", T0))
    ack = parse_milestone(milestone("referral-acknowledged", "acknowledged", T0 + timedelta(days=1)))
    once = merge(merge(None, sent), ack)
    assert merge(merge(once, sent), ack) == once
    assert merge(merge(None, ack), sent) == once  # order of delivery does not matter
    assert once["status"] == "acknowledged"


def view(docs: dict[str, Any], now: datetime, k: int | None = None) -> dict[str, Any]:
    [corridor] = corridors_view(docs, now, k=k)
    return corridor


def test_an_overdue_arrival_shows_on_the_monitor_view_when_the_clock_passes() -> None:
    arrival = T0 + timedelta(days=10, hours=4)
    doc = None
    for step, status, at, extra in [
        ("referral-sent", "referred", T0, {}),
        ("referral-acknowledged", "acknowledged", T0, {}),
        ("referral-accepted", "accepted", T0 + timedelta(days=1), {}),
        ("transport-planned", "scheduled", T0 + timedelta(days=2), {"due_at": arrival.isoformat()}),
        ("departure-confirmed", "in_transit", T0 + timedelta(days=10), {"due_at": arrival.isoformat()}),
    ]:
        doc = merge(doc, parse_milestone(milestone(step, status, at, **extra)))
    assert doc is not None
    docs = {"p1": doc}
    assert view(docs, arrival + timedelta(hours=11))["overdue"] == []
    [late] = view(docs, arrival + timedelta(hours=13))["overdue"]
    assert (late["case"], late["clock"], late["owed_by"], late["hours_overdue"]) == (
        "p1", "confirm arrival", XB, 1.0)
    assert view(docs, arrival)["stages"]["preparation"] == {"cases": 1, "median_days": 9.0}
    arrived = merge(doc, parse_milestone(milestone("arrival-confirmed", "arrived", arrival)))
    assert view({"p1": arrived}, arrival + timedelta(hours=13))["overdue"] == []


def test_statistics_suppress_every_cell_below_k() -> None:
    docs = {}
    for i in range(K_ANONYMITY + 2):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)
        doc = merge(None, parse_milestone(milestone("referral-sent", "referred", at)))
        if i < 3:
            doc = merge(doc, parse_milestone(
                milestone("referral-acknowledged", "acknowledged", at + timedelta(days=1))))
        docs[f"p{i}"] = doc
    later = datetime(2026, 2, 1, tzinfo=UTC)
    exact = view(docs, later)
    assert exact["by_status"] == {"referred": 10, "acknowledged": 3}
    stats = view(docs, later, k=K_ANONYMITY)
    assert stats["cases"] == 13
    # 3 is below k; 10 goes too, or 13 - 10 would give the 3 away.
    assert stats["by_status"] == {"referred": None, "acknowledged": None}
    assert stats["stages"]["acknowledgement"] == {"cases": None, "median_days": None}
    # Overdue clocks are counted, not listed: no pseudonymous case leaves in statistics.
    assert stats["overdue"] == {"acknowledge referral": None, "accept or decline": 13}


def test_suppression_leaves_cells_of_k_or_more() -> None:
    assert suppress_cells({"a": 11, "b": 20, "c": 12}, 11) == {"a": 11, "b": 20, "c": 12}
    assert suppress_cells({"a": 11, "b": 20, "c": 2}, 11) == {"a": None, "b": 20, "c": None}
    assert suppress_cells({"a": 1, "b": 2, "c": 30}, 11) == {"a": None, "b": None, "c": 30}


def test_every_milestone_type_of_the_codec_is_known() -> None:
    known = {BY_EVENT[e].message_type for e in BY_EVENT}
    for step in known:
        parse_milestone(milestone(step, "referred", T0))
