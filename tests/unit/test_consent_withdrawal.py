"""consent-withdrawal-halts: withdrawing consent to return before departure cancels the
planned transport and holds the case on both sides; after departure it only stops sharing."""

from __future__ import annotations

import pytest

from events.progress import blocking, status
from events.rules import DataMinimisation
from events.steps import STEPS
from events.values import Actor, Status
from tests.harness.builders import T0, XA, XB
from tests.harness.given import READY, C, Messages, R, given, when


def test_withdrawal_before_departure_cancels_transport_and_holds_the_case() -> None:
    story = given([*READY, R("transport")])

    event = when(story, R("consent-withdrawal"))

    assert event.type == "ConsentWithdrawn"
    for agency in (XA, XB):
        case = story.stream(agency)
        assert case.state.transport is None
        assert status(case, T0) is Status.ON_HOLD
        assert [(b.rule, case.agency(b.owed_by)) for b in blocking(case, T0)] == [
            ("consent-withdrawal-halts", XA)]


def test_withdrawal_before_any_transport_holds_the_case() -> None:
    story = given(READY)

    when(story, R("consent-withdrawal"))

    assert status(story.stream(XA), T0) is Status.ON_HOLD


def test_renewed_consent_to_return_lifts_the_hold() -> None:
    story = given([*READY, R("transport"), R("consent-withdrawal")])

    when(story, R("consent", scopes=["return"]))
    when(story, R("return-decision"))  # the decision taken before the withdrawal is void

    assert status(story.stream(XA), T0) is Status.READY  # the transport must be planned again
    assert status(story.stream(XB), T0) is Status.READY


def test_withdrawal_after_departure_keeps_the_transport_and_the_hand_off_going() -> None:
    story = given([*READY, R("transport"), R("departure")])

    when(story, R("consent-withdrawal", scopes=["return", "share_identity", "share_health"]))

    xa = story.stream(XA)
    assert xa.state.transport is not None and not xa.state.on_hold
    assert status(xa, T0) is Status.IN_TRANSIT
    assert when(story, C("arrival")).type == "ArrivalConfirmed"


def test_withdrawal_after_departure_stops_sharing_personal_data() -> None:
    story = given([*READY, R("transport"), R("departure"),
                   R("consent-withdrawal", scopes=["share_health"]), C("arrival"),
                   C("reintegration-plan")])
    follow_up = dict(story.bodies["follow-up"])  # wellbeing is health data

    with pytest.raises(DataMinimisation):
        story.stream(XA).record(STEPS["follow-up"], follow_up, Actor(XB, XB), T0,
                                Messages(XB, first=50).next())
    del follow_up["wellbeing"]
    event = story.stream(XA).record(STEPS["follow-up"], follow_up, Actor(XB, XB), T0,
                                    Messages(XB, first=50).next())
    assert event.type == "FollowUpRecorded"


def test_withdrawal_of_another_scope_does_not_hold_the_case() -> None:
    story = given([*READY, R("transport")])

    when(story, R("consent-withdrawal", scopes=["monitoring"]))

    assert status(story.stream(XA), T0) is Status.SCHEDULED
    assert story.stream(XA).state.transport is not None
