"""The clocks of DOMAIN.md against an injected time: when each falls due, who owes it,
and that a met clock is never overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

from events.case import Case
from events.deadlines import MONTH, Deadlines, clocks, overdue
from tests.harness.builders import T0, XB
from tests.harness.given import READY, C, R, given, upto

MINUTE = timedelta(minutes=1)
EXPECTED_ARRIVAL = T0 + timedelta(days=10, hours=4)  # the transport plan of the builders


def overdue_names(case: Case, now: datetime, deadlines: Deadlines | None = None) -> list[str]:
    return [c.name for c in overdue(case, now, deadlines)]


def test_an_unacknowledged_referral_is_overdue_after_two_days() -> None:
    story = given(upto("referral"))

    assert overdue_names(story.xa, T0 + timedelta(days=2)) == []
    late = overdue(story.xa, T0 + timedelta(days=2) + MINUTE)
    assert [(c.name, story.xa.agency(c.owed_by)) for c in late] == [("acknowledge referral", XB)]


def test_an_acknowledged_referral_is_not_overdue() -> None:
    story = given(upto("acknowledgement"))

    assert overdue_names(story.xa, T0 + timedelta(days=3)) == []


def test_a_referral_undecided_after_seven_days_is_overdue() -> None:
    story = given(upto("acknowledgement"))

    assert overdue_names(story.stream(XB), T0 + timedelta(days=7) + MINUTE) == ["accept or decline"]
    decided = given(upto("acceptance"))
    assert overdue_names(decided.xa, T0 + timedelta(days=8)) == []


def test_an_identity_verification_is_due_in_thirty_days() -> None:
    story = given(upto("identity-verification-request"))

    assert overdue_names(story.xa, T0 + timedelta(days=30) + MINUTE) == ["verify identity"]
    assert overdue_names(given(upto("identity-verification")).xa, T0 + timedelta(days=31)) == []


def test_a_corridor_may_shorten_a_clock() -> None:
    story = given(upto("referral"))
    corridor = Deadlines(acknowledge=timedelta(hours=12))

    assert overdue_names(story.xa, T0 + timedelta(hours=13), corridor) == ["acknowledge referral"]


def test_arrival_is_overdue_twelve_hours_after_the_expected_arrival() -> None:
    story = given([*READY, R("transport"), R("departure")])

    assert overdue_names(story.xa, EXPECTED_ARRIVAL + timedelta(hours=12)) == []
    late = overdue(story.xa, EXPECTED_ARRIVAL + timedelta(hours=12) + MINUTE)
    assert [(c.name, c.owed_by.value) for c in late] == [("confirm arrival", "receiving")]


def test_the_arrival_clock_starts_only_with_departure() -> None:
    story = given([*READY, R("transport")])

    assert "confirm arrival" not in [c.name for c in clocks(story.xa)]


def test_a_confirmed_arrival_is_not_overdue() -> None:
    story = given(upto("arrival"))

    assert "confirm arrival" not in overdue_names(story.xa, EXPECTED_ARRIVAL + timedelta(days=1))


def test_follow_ups_fall_due_at_months_three_six_and_twelve_after_arrival() -> None:
    story = given(upto("reintegration-plan"))
    due = {c.name: c.due_at for c in clocks(story.stream(XB))}

    assert due["follow-up month 3"] == EXPECTED_ARRIVAL + 3 * MONTH
    assert due["follow-up month 6"] == EXPECTED_ARRIVAL + 6 * MONTH
    assert due["follow-up month 12"] == EXPECTED_ARRIVAL + 12 * MONTH
    assert overdue_names(story.stream(XB), EXPECTED_ARRIVAL + 3 * MONTH + MINUTE) == ["follow-up month 3"]


def test_a_recorded_follow_up_meets_its_month_only() -> None:
    story = given([*upto("reintegration-plan"), C("follow-up", month=3)])

    assert overdue_names(story.xa, EXPECTED_ARRIVAL + 6 * MONTH + MINUTE) == ["follow-up month 6"]


def test_the_reintegration_plan_is_due_thirty_days_after_arrival() -> None:
    story = given(upto("arrival"))

    assert overdue_names(story.xa, EXPECTED_ARRIVAL + timedelta(days=30) + MINUTE) == [
        "reintegration plan"]


def test_a_closed_case_has_no_overdue_clocks() -> None:
    story = given([*upto("arrival"), C("reintegration-plan"), C("closure", reason="other")])

    assert overdue_names(story.xa, EXPECTED_ARRIVAL + 13 * MONTH) == []


def test_a_date_far_in_the_future_does_not_break_the_clocks() -> None:
    from datetime import UTC, datetime

    from events.deadlines import NEVER, later

    assert later(datetime(9999, 12, 31, 20, tzinfo=UTC), timedelta(days=30)) == NEVER
