"""Incidents in transit hold the case at both agencies with an escalation, until arrival
or cancellation; `details` never crosses the border."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events.progress import blocking, status
from events.step import InTheFuture
from events.steps import STEPS
from events.values import Status
from tests.harness.builders import ANNA, BORIS, T0, XA, XB
from tests.harness.given import READY, C, R, given, refused, when

DEPARTED = [*READY, R("transport"), R("departure")]
ARRIVAL = T0 + timedelta(days=10, hours=4)  # the planned arrival (builders.bodies)


def test_an_incident_holds_the_case_at_both_agencies_with_an_escalation() -> None:
    story = given(DEPARTED)

    event = when(story, R("transit-incident", kind="missing"))

    assert event.data["details"]  # kept by the agency that recorded it
    received = story.stream(XB).pending_events[-1]
    assert received.type == "TransitIncidentRecorded" and "details" not in received.data
    for agency in (XA, XB):
        case = story.stream(agency)
        assert status(case, T0) is Status.ON_HOLD
        [item] = blocking(case, T0)
        assert item.rule == "transit-incident" and "missing" in item.detail
        assert case.agency(item.owed_by) == XA


def test_arrival_resolves_the_incident() -> None:
    story = given([*DEPARTED, C("transit-incident", kind="medical")])

    when(story, C("arrival"))

    assert all(status(story.stream(a), T0) is Status.ARRIVED for a in (XA, XB))


def test_a_cancellation_after_the_person_did_not_board_resolves_it() -> None:
    story = given([*DEPARTED, R("transit-incident", kind="did_not_board")])

    when(story, R("transport-cancellation"))

    for agency in (XA, XB):
        case = story.stream(agency)
        assert case.state.departed_at is None and case.state.incident is None
        assert status(case, T0) is Status.READY


def test_not_arrived_only_by_the_receiving_agency_once_the_arrival_clock_is_overdue() -> None:
    story = given(DEPARTED)
    overdue = (ARRIVAL + timedelta(hours=13)).isoformat()
    early = (ARRIVAL + timedelta(hours=1)).isoformat()

    refused(story, R("transit-incident", kind="not_arrived", occurred_at=overdue), "step-owner")
    refused(story, C("transit-incident", kind="not_arrived", occurred_at=early), "sequence")
    event = when(story, C("transit-incident", kind="not_arrived", occurred_at=overdue))
    assert event.data["side"] == "receiving"


def test_no_incident_before_departure_or_after_arrival() -> None:
    refused(given([*READY, R("transport")]), R("transit-incident"), "sequence")
    refused(given([*DEPARTED, C("arrival")]), C("transit-incident"), "sequence")


def test_a_departure_or_incident_in_the_future_is_refused_naming_the_field() -> None:
    story = given([*READY, R("transport")])
    xa = story.stream(XA)
    ahead = (T0 + timedelta(minutes=16)).isoformat()
    with pytest.raises(InTheFuture) as refusal:
        xa.record(STEPS["departure"], {"departed_at": ahead}, ANNA, T0)
    assert refusal.value.field == "departed_at"
    within = (T0 + timedelta(minutes=14)).isoformat()  # a clock a little fast is no future
    assert xa.record(STEPS["departure"], {"departed_at": within}, ANNA, T0).type == (
        "DepartureConfirmed")
    with pytest.raises(InTheFuture) as refusal:
        story.stream(XB).record(STEPS["transit-incident"],
                                {"kind": "medical", "occurred_at": ahead}, BORIS, T0)
    assert refusal.value.field == "occurred_at"
