"""A closure as `completed` means the work was done; a declined case reopened can be
referred again."""

from __future__ import annotations

from datetime import timedelta

from events.deadlines import MONTH
from events.progress import status
from events.values import Status
from tests.harness.builders import BEA, T0, XA, XB
from tests.harness.given import C, R, given, refused, upto, when

ARRIVAL = T0 + timedelta(days=10, hours=4)
SERVED = upto("service")
DAYS_TO_MONTH_4 = (ARRIVAL + 4 * MONTH - T0).days


def test_a_follow_up_due_but_missing_refuses_closure_as_completed() -> None:
    story = given(SERVED)

    refused(story, C("closure", day=DAYS_TO_MONTH_4), "closure-justified")
    when(story, C("follow-up", month=3, day=DAYS_TO_MONTH_4))
    assert when(story, C("closure", day=DAYS_TO_MONTH_4)).type == "CaseClosed"


def test_a_follow_up_recorded_too_early_does_not_count() -> None:
    story = given([*SERVED, C("follow-up", month=3)])  # recorded on the day of arrival

    refused(story, C("closure", day=DAYS_TO_MONTH_4), "closure-justified")
    closed = when(story, C("closure", actor=BEA, day=DAYS_TO_MONTH_4,
                           justification="month 3 visit was held early at her request"))
    assert closed.type == "CaseClosed"


def test_completed_needs_a_service_delivered() -> None:
    story = given(upto("reintegration-plan"))

    refused(story, C("closure"), "closure-justified")


def test_reopening_a_declined_case_lets_the_referral_go_again() -> None:
    story = given([R("consent"), R("referral"), C("acknowledgement"), C("decline"),
                   R("closure", reason="declined")])

    when(story, R("reopening"))

    assert all(status(story.stream(a), T0) is Status.OPENED for a in (XA, XB))
    when(story, R("referral"))
    assert all(status(story.stream(a), T0) is Status.REFERRED for a in (XA, XB))
    when(story, C("acknowledgement"))
    when(story, C("acceptance"))
    assert status(story.stream(XA), T0) is Status.ACCEPTED
