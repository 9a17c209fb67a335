"""Facts that arrive from the partner: only the owner may send a step, and personal
data arrives only under the consent that lets it cross the border."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from events.case import Case, CaseEvent
from events.rules import DataMinimisation, StepOwner
from events.steps import STEPS, open_received
from events.values import Actor, Side
from tests.harness.builders import T0, XA, XB, Story, snapshot
from tests.harness.given import ACCEPTED, READY, Messages, R, given, refused, when, without


def receive(case: Case, messages: Messages, path: str, data: Mapping[str, object]) -> CaseEvent:
    return case.record(STEPS[path], data, Actor(messages.sender, messages.sender), T0,
                       messages.next())


def unchanged_after_refusal(case: Case, refusal: type[Exception], messages: Messages, path: str,
                            data: Mapping[str, object]) -> None:
    before = snapshot(case), len(case.pending_events)
    with pytest.raises(refusal):
        receive(case, messages, path, data)
    assert (snapshot(case), len(case.pending_events)) == before


# -- step-owner --------------------------------------------------------------

def test_an_acceptance_sent_by_the_referring_agency_is_refused() -> None:
    story = given([R("consent"), R("referral")])

    unchanged_after_refusal(story.stream(XB), StepOwner, Messages(XA, first=9), "acceptance",
                            {"note": "we accept on their behalf"})


def test_an_acceptance_sent_by_the_receiving_agency_is_recorded_as_its_fact() -> None:
    story = given([R("consent"), R("referral")])

    event = receive(story.stream(XA), Messages(XB), "acceptance", {"note": "accepted"})

    assert event.type == "ReferralAccepted" and event.recorded_by == XB
    assert event.actor == f"{XB} (message)" and event.received is not None
    assert story.stream(XA).state.accepted_at == T0


def test_a_fact_from_an_agency_outside_the_corridor_is_refused() -> None:
    story = given(ACCEPTED)

    unchanged_after_refusal(story.stream(XA), StepOwner, Messages("XC-NRM"), "reception",
                            dict(story.bodies["reception"]))


def test_a_consent_sent_by_the_receiving_agency_is_refused() -> None:
    story = given(ACCEPTED)

    unchanged_after_refusal(story.stream(XA), StepOwner, Messages(XB, first=3), "consent",
                            dict(story.bodies["consent"]))


def test_a_partner_cannot_send_a_risk_assessment_for_the_other_side() -> None:
    story = given(ACCEPTED)
    assessment = {"level": "low", "factors": [], "valid_until": "2027-01-01"}

    unchanged_after_refusal(story.stream(XA), StepOwner, Messages(XB, first=3),
                            "risk-assessment", {**assessment, "side": "referring"})
    receive(story.stream(XA), Messages(XB, first=3), "risk-assessment",
            {**assessment, "side": "receiving"})
    assert set(story.stream(XA).state.risk) == {"receiving"}


def test_a_case_opened_by_the_receiving_agency_is_refused() -> None:
    story = Story()
    opened = dict(story.xa.pending_events[0].data)
    del opened["person"], opened["reason"]

    with pytest.raises(StepOwner):
        open_received(story.xa.id, opened, Messages(XB).next(), T0)


def test_a_closure_sent_by_the_agency_not_holding_the_phase_is_refused() -> None:
    story = given(ACCEPTED)  # before arrival the referring agency holds the phase

    unchanged_after_refusal(story.stream(XA), StepOwner, Messages(XB, first=3), "closure",
                            {"reason": "declined"})


def test_a_partners_high_risk_without_a_safety_plan_blocks_transport() -> None:
    # The partner's own stream refuses such an assessment; a received one is still its fact.
    story = given(without(READY, XB, "risk-assessment"))
    high = {"level": "high", "factors": [], "valid_until": "2027-01-01", "side": "receiving",
            "safety_plan_in_place": False}
    receive(story.stream(XA), Messages(XB, first=20), "risk-assessment", high)

    refusal = refused(story, R("transport"), "risk-assessment-required")

    assert "safety plan" in refusal.detail
    receive(story.stream(XA), Messages(XB, first=21), "risk-assessment",
            {**high, "safety_plan_in_place": True})  # the plan's text stays with the partner
    assert when(story, R("transport")).type == "TransportPlanned"


def test_a_partners_safety_plan_crosses_as_a_fact_never_as_text() -> None:
    story = given(without(READY, XB, "risk-assessment"))
    high = {"level": "high", "factors": [], "valid_until": "2027-01-01", "side": "receiving",
            "safety_plan_in_place": True}
    unchanged_after_refusal(story.stream(XA), DataMinimisation, Messages(XB, first=20),
                            "risk-assessment", {**high, "safety_plan": "met at the airport"})
    receive(story.stream(XA), Messages(XB, first=20), "risk-assessment", high)
    assert story.stream(XA).state.risk[Side.RECEIVING].safety_plan_in_place


# -- data-minimisation -------------------------------------------------------

def partner_knows_of(story: Story, consent_scopes: list[str]) -> tuple[Case, Messages]:
    """The receiving agency's stream, opened and told of consent, before the referral."""
    messages = Messages(XA)
    opened = {k: v for k, v in story.xa.pending_events[0].data.items()
              if k not in ("person", "reason")}
    case = open_received(story.xa.id, opened, messages.next(), T0)
    receive(case, messages, "consent", {**story.bodies["consent"], "scopes": consent_scopes})
    return case, messages


def referral_with_person(story: Story) -> dict[str, object]:
    return {"note": "please assist", "person": story.xa.state.person}


def test_a_referral_carrying_the_person_without_consent_to_share_identity_is_refused() -> None:
    story = Story()
    case, messages = partner_knows_of(story, ["refer"])

    unchanged_after_refusal(case, DataMinimisation, messages, "referral",
                            referral_with_person(story))


def test_a_referral_carrying_the_person_under_consent_to_share_identity_is_recorded() -> None:
    story = Story()
    case, messages = partner_knows_of(story, ["refer", "share_identity"])

    receive(case, messages, "referral", referral_with_person(story))

    assert case.state.person == story.xa.state.person


def test_a_referral_without_the_person_needs_no_identity_consent() -> None:
    story = Story()
    case, messages = partner_knows_of(story, ["refer"])

    receive(case, messages, "referral", {})  # its note is free text: share_identity too

    assert case.state.person is None and case.state.referred_at == T0


def test_free_text_crossing_without_its_scope_or_never_meant_to_cross_is_refused() -> None:
    story = Story()
    case, messages = partner_knows_of(story, ["refer"])
    unchanged_after_refusal(case, DataMinimisation, messages, "referral",
                            {"note": "please assist"})  # protected: share_identity
    receive(case, messages, "referral", {})
    unchanged_after_refusal(case, DataMinimisation, messages, "consent-withdrawal",
                            {"scopes": ["refer"], "reason": "To apply for a residence permit."})


def test_a_decline_reason_crosses_only_under_share_identity() -> None:
    story = Story()
    case, messages = partner_knows_of(story, ["refer"])
    receive(case, messages, "referral", {})
    unchanged_after_refusal(case, DataMinimisation, Messages(XB), "decline",
                            {"reason": "Mother named the recruiter."})
    receive(case, Messages(XB), "decline", {})
    assert case.state.declined_at is not None


def test_a_case_opening_carrying_the_person_is_refused() -> None:
    story = Story()
    opened = dict(story.xa.pending_events[0].data)

    with pytest.raises(DataMinimisation):
        open_received(story.xa.id, opened, Messages(XA).next(), T0)


NO_HEALTH = ["refer", "share_identity", "return"]


def test_a_transport_plan_carrying_fitness_to_travel_without_health_consent_is_refused() -> None:
    story = given([R("consent", scopes=NO_HEALTH), *READY[1:]])
    plan = dict(story.bodies["transport"])

    unchanged_after_refusal(story.stream(XB), DataMinimisation, Messages(XA, first=20),
                            "transport", plan)
    del plan["medical_escort"], plan["fit_to_travel"]
    event = receive(story.stream(XB), Messages(XA, first=20), "transport", plan)
    assert event.type == "TransportPlanned"


def test_the_exchange_leaves_protected_fields_behind_without_consent() -> None:
    story = given([R("consent", scopes=NO_HEALTH), *READY[1:], R("transport")])

    received = story.stream(XB).pending_events[-1]

    assert received.type == "TransportPlanned"
    assert "fit_to_travel" not in received.data
    assert "fit_to_travel" in story.stream(XA).pending_events[-1].data
