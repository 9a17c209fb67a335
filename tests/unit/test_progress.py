"""The status of a case and its blocking items: what the next step waits for, and
which agency owes it. Both agencies' streams of a case show the same."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from events.case import Case
from events.progress import blocking, status
from events.values import Status
from tests.harness.builders import T0, XA, XB, Story
from tests.harness.given import ACCEPTED, HAPPY, READY, C, Do, R, given, upto, without


def waiting_on(case: Case, now: datetime = T0) -> list[tuple[str, str]]:
    """(agency, rule) of each blocking item, in order."""
    return [(case.agency(b.owed_by), b.rule) for b in blocking(case, now)]


STAGES = {
    "referred": (upto("referral"), Status.REFERRED, [(XB, "sequence")]),
    "acknowledged": (upto("acknowledgement"), Status.ACKNOWLEDGED,
                     [(XB, "acceptance-required")]),
    "accepted": (ACCEPTED, Status.ACCEPTED, [
        (XA, "return-consent-required"), (XA, "risk-assessment-required"),
        (XB, "risk-assessment-required"), (XB, "travel-document-valid"),
        (XB, "reception-required")]),
    "preparing": (upto("return-decision"), Status.PREPARING, [
        (XB, "travel-document-valid"), (XB, "reception-required")]),
    "ready": (READY, Status.READY, [(XA, "sequence")]),
    "scheduled": (upto("transport"), Status.SCHEDULED, [(XA, "sequence")]),
    "in transit": (upto("departure"), Status.IN_TRANSIT, [(XB, "sequence")]),
    "arrived": (upto("arrival"), Status.ARRIVED, [(XB, "sequence")]),
    "reintegrating": (upto("reintegration-plan"), Status.REINTEGRATING, []),
    "follow-up": (upto("follow-up"), Status.FOLLOW_UP, []),
    "closed": (HAPPY, Status.CLOSED, []),
    "declined": ([R("consent"), R("referral"), C("decline")], Status.DECLINED, []),
    "on hold": ([*READY, R("consent-withdrawal")], Status.ON_HOLD,
                [(XA, "consent-withdrawal-halts")]),
}


@pytest.mark.parametrize(("steps", "expected", "items"), STAGES.values(), ids=STAGES.keys())
def test_both_agencies_see_the_status_and_who_owes_the_next_step(
    steps: list[Do], expected: Status, items: list[tuple[str, str]],
) -> None:
    story = given(steps)

    for agency in (XA, XB):
        assert status(story.stream(agency), T0) is expected
        assert waiting_on(story.stream(agency)) == items


def test_an_opened_case_waits_on_the_referring_agency_for_consent() -> None:
    story = Story()

    assert status(story.xa, T0) is Status.OPENED
    assert waiting_on(story.xa) == [(XA, "consent-required")]


def test_an_open_asylum_claim_blocks_the_referral_too() -> None:
    story = given([R("asylum-claim")])

    assert waiting_on(story.xa) == [(XA, "asylum-guard"), (XA, "consent-required")]


def test_an_opened_case_with_consent_waits_for_the_referral() -> None:
    story = given([R("consent")])

    assert [(b.rule, b.detail) for b in blocking(story.xa, T0)] == [("sequence", "the referral")]


def test_an_expired_risk_assessment_says_how_long_ago_it_expired() -> None:
    story = given(READY)  # both assessments are valid for 60 days
    later = T0 + timedelta(days=63)

    assert status(story.xa, later) is Status.PREPARING
    items = blocking(story.xa, later)
    assert [(story.xa.agency(b.owed_by), b.rule) for b in items] == [
        (XA, "risk-assessment-required"), (XB, "risk-assessment-required")]
    assert items[0].detail == "the referring risk assessment, expired 3 days ago"
    assert items[1].detail == "the receiving risk assessment, expired 3 days ago"


def test_an_assessment_expired_yesterday_says_one_day() -> None:
    story = given(READY)

    detail = blocking(story.xa, T0 + timedelta(days=61))[0].detail

    assert detail == "the referring risk assessment, expired 1 day ago"


def test_an_assessment_is_current_through_its_last_day() -> None:
    story = given(READY)

    assert status(story.xa, T0 + timedelta(days=60)) is Status.READY


def test_the_missing_pieces_of_a_return_are_owed_by_each_side() -> None:
    story = given(without(without(READY, XB, "travel-document"), XA, "risk-assessment"))

    assert status(story.xa, T0) is Status.PREPARING
    assert [(story.xa.agency(b.owed_by), b.detail) for b in blocking(story.xa, T0)] == [
        (XA, "the referring risk assessment"), (XB, "a travel document")]


def test_a_critical_risk_and_a_missing_caregiver_are_shown_for_a_minor() -> None:
    story = given([*READY, R("best-interests-determination"), C("risk-assessment", level="critical")],
                  minor=True)

    assert waiting_on(story.xa) == [(XB, "risk-assessment-required"), (XB, "minor-safeguards")]
    assert "critical" in blocking(story.xa, T0)[0].detail


def test_a_referral_case_is_accepted_then_waits_for_its_reintegration_plan() -> None:
    story = given(ACCEPTED, kind="referral")

    assert status(story.stream(XB), T0) is Status.ACCEPTED
    assert waiting_on(story.stream(XB)) == [(XB, "sequence")]
    when_planned = given([*ACCEPTED, C("reintegration-plan")], kind="referral")
    assert status(when_planned.stream(XA), T0) is Status.REINTEGRATING
