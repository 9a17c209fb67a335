"""sequence: each decision and each hand-off happens once and in order; a closed case
takes only a reopening. These refusals have no "later it succeeds": the first step did."""

from __future__ import annotations

import pytest

from events.rules import StepOwner
from events.steps import OpenCase, open_case
from tests.harness.builders import ANNA, SARA, T0, XA, XB, opening
from tests.harness.given import ACCEPTED, HAPPY, READY, C, Do, R, given, refused, upto

TWICE = {
    "accepted twice": (upto("acceptance"), C("acceptance")),
    "declined after acceptance": (upto("acceptance"), C("decline")),
    "accepted after decline": ([R("consent"), R("referral"), C("decline")], C("acceptance")),
    "declined twice": ([R("consent"), R("referral"), C("decline")], C("decline")),
    "referred twice": (upto("referral"), R("referral")),
    "override after the referral": (upto("referral"), R("risk-to-life-override", actor=SARA)),
    "acknowledged twice": (upto("acknowledgement"), C("acknowledgement")),
    "departed twice": (upto("departure"), R("departure")),
    "arrived twice": (upto("arrival"), C("arrival")),
    "transport planned after departure": (upto("departure"), R("transport")),
    "transport cancelled after departure": (upto("departure"), R("transport-cancellation")),
    "a second asylum claim while one is open": ([R("asylum-claim")], R("asylum-claim")),
    "an asylum claim closed that was never open": ([], R("asylum-claim-closure")),
    "identity verified without a request": (ACCEPTED, C("identity-verification")),
    "a service before any reintegration plan": (upto("arrival"), C("service")),
    "a shelter exit without an admission": (upto("arrival"), C("shelter-exit")),
    "a reintegration plan before acceptance": (upto("acknowledgement"), C("reintegration-plan")),
    "a service at home before arrival": (upto("departure"), C("service")),
    "the referring agency's shelter after departure": (upto("departure"), R("shelter-admission")),
    "the referring agency's service after arrival": (upto("arrival"), R("service")),
    "closed twice": (HAPPY, C("closure")),
}


@pytest.mark.parametrize(("steps", "command"), TWICE.values(), ids=TWICE.keys())
def test_out_of_order_or_repeated_steps_are_refused(steps: list[Do], command: Do) -> None:
    story = given(steps)

    refused(story, command, "sequence")


def test_an_arrival_before_the_departure_time_is_refused() -> None:
    story = given(upto("departure"))

    refused(story, C("arrival", arrived_at=T0.isoformat()), "sequence")


def test_return_steps_do_not_apply_to_a_referral_case() -> None:
    story = given(ACCEPTED, kind="referral")

    refused(story, R("return-decision"), "sequence")
    refused(story, C("travel-document"), "sequence")


def test_the_safeguards_for_minors_are_refused_for_an_adult() -> None:
    story = given(ACCEPTED)

    refused(story, R("best-interests-determination"), "minor-safeguards")
    refused(story, C("caregiver-confirmation"), "minor-safeguards")


def test_a_cancelled_transport_must_be_planned_again_before_departure() -> None:
    story = given([*READY, R("transport"), R("transport-cancellation")])

    refused(story, R("departure"), "sequence")


def test_a_case_is_not_opened_with_oneself() -> None:
    body = OpenCase.model_validate(opening(receiving_agency=XA))

    with pytest.raises(StepOwner):
        open_case(body, ANNA, T0)


def test_a_reopened_case_takes_steps_again_on_both_sides() -> None:
    story = given([*HAPPY, C("reopening")])

    event = story.step(XB, "follow-up", month=6)

    assert event.type == "FollowUpRecorded"
    assert story.stream(XA).state.follow_up_months == {3, 6}
    assert not story.stream(XB).state.closed
