"""A child goes back to a family that tracing found suitable, or to a caregiver a
best-interests determination named: `caregiver-confirmation` is refused
`minor-safeguards` otherwise, and the case is left unchanged."""

from __future__ import annotations

from events.progress import status
from events.values import Status
from tests.harness.builders import T0, XA, XB
from tests.harness.given import READY, C, R, given, refused, when

CHILD_READY = [*READY, R("best-interests-determination")]


def test_a_child_s_caregiver_without_family_tracing_is_refused() -> None:
    story = given(CHILD_READY, minor=True)

    refusal = refused(story, C("caregiver-confirmation"), "minor-safeguards")
    assert "no family tracing" in refusal.detail


def test_a_family_found_unsuitable_or_not_found_is_no_caregiver() -> None:
    for result in ("found_unsuitable", "not_found"):
        story = given([*CHILD_READY, C("family-tracing", result=result)], minor=True)

        refusal = refused(story, C("caregiver-confirmation"), "minor-safeguards")
        assert result.replace("_", " ") in refusal.detail


def test_a_family_found_suitable_lets_the_caregiver_be_confirmed_and_the_child_return() -> None:
    story = given([*CHILD_READY, C("family-tracing", result="not_found"),
                   C("family-tracing", result="found_suitable")], minor=True)

    assert when(story, C("caregiver-confirmation")).type == "CaregiverConfirmed"
    assert {status(story.stream(a), T0) for a in (XA, XB)} == {Status.READY}
    assert story.stream(XA).state.family_tracing == "found_suitable"  # it crossed


def test_a_best_interests_determination_naming_another_caregiver_needs_no_tracing() -> None:
    story = given([*READY, R("best-interests-determination", other_caregiver_named=True),
                   C("family-tracing", result="found_unsuitable")], minor=True)

    assert when(story, C("caregiver-confirmation")).type == "CaregiverConfirmed"
    received = story.stream(XB).pending_events
    assert any(e.data.get("other_caregiver_named") is True  # type: ignore[attr-defined]
               for e in received if e.type == "BestInterestsDetermined")


def test_family_tracing_needs_the_referral_accepted_and_the_receiving_agency() -> None:
    story = given(READY[:3], minor=True)  # consent, referral, acknowledgement

    refused(story, C("family-tracing"), "acceptance-required")
    when(story, C("acceptance"))
    refused(story, R("family-tracing"), "step-owner")
    assert when(story, C("family-tracing")).type == "FamilyTraced"


def test_an_adult_s_family_may_be_traced_too() -> None:
    story = given(READY)

    assert when(story, C("family-tracing", result="not_found")).type == "FamilyTraced"
