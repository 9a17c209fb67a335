"""Justice from home: once the person has left, the referring agency asks the receiving
agency to tell the person of a hearing, to arrange remote testimony or to hand over the
compensation awarded; each open request is a blocking item and a clock owed by the
receiving agency at both agencies, and an `inform_person` request answered in time meets
the proceeding's 14-day clock. The proceeding's reference never crosses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events.deadlines import clocks, overdue
from events.progress import blocking
from events.rules import InvalidField
from events.values import Side
from tests.harness.builders import T0, XA, XB, Story, snapshot
from tests.harness.given import C, R, given, refused, upto, when
from tests.unit.test_projection_folds import check_round_trip

HOME = 11  # days after T0: the person arrived on day 10 (builders.bodies)
UNTOLD = [*upto("arrival"), R("legal-proceeding", day=HOME),
          R("proceeding-update", person_informed=False, day=HOME)]
INFORM = R("justice-request", day=HOME)  # inform_person, due on day 24, hearing on day 40


def day(n: int) -> str:
    return str((T0 + timedelta(days=n)).date())


def requests_at_both(story: Story, n: int = HOME) -> list[list[tuple[str, Side]]]:
    at = T0 + timedelta(days=n)
    return [[(b.detail, b.owed_by) for b in blocking(story.stream(a), at)
             if b.rule == "justice-request"] for a in (XA, XB)]


def inform_clock(story: Story, agency: str = XA) -> list[tuple[Side, bool]]:
    return [(c.owed_by, c.met) for c in clocks(story.stream(agency))
            if c.name.startswith("inform the person")]


def test_a_request_is_a_blocking_item_and_a_clock_owed_by_the_receiving_agency_at_both() -> None:
    story = given([*UNTOLD, INFORM])

    item = (f"justice from home: inform person for the hearing on {day(40)}, due {day(24)}",
            Side.RECEIVING)
    assert requests_at_both(story) == [[item], [item]]
    for agency in (XA, XB):  # due on day 24: overdue once that day ends
        assert overdue(story.stream(agency), T0 + timedelta(days=24)) == []
        assert [(c.name, c.owed_by) for c in overdue(story.stream(agency),
                                                     T0 + timedelta(days=25))] == [
            ("justice from home: inform person", Side.RECEIVING)]


def test_the_receiving_agency_learns_the_kind_and_the_dates_never_the_proceeding() -> None:
    story = given([*UNTOLD, INFORM])

    sent = story.stream(XA).pending_events[-1]
    received = story.stream(XB).pending_events[-1]
    assert sent.data["reference"] == "CR-2026-1187"  # type: ignore[attr-defined]
    assert received.data == {"kind": "inform_person", "due_on": day(24),  # type: ignore[attr-defined]
                             "hearing_on": day(40)}
    assert story.stream(XB).state.justice_requests["inform_person"].untold == []
    assert story.stream(XA).state.justice_requests["inform_person"].untold == ["CR-2026-1187"]
    assert story.stream(XB).state.proceedings == {}


def test_the_answer_clears_the_item_at_both() -> None:
    story = given([*UNTOLD, INFORM, C("justice-response", day=HOME + 5)])

    assert requests_at_both(story) == [[], []]
    assert [c for a in (XA, XB) for c in clocks(story.stream(a))
            if c.name.startswith("justice from home")] == []


def test_once_asked_the_proceeding_s_clock_is_owed_by_the_receiving_agency() -> None:
    story = given(UNTOLD)
    assert inform_clock(story) == [(Side.REFERRING, False)]

    when(story, INFORM)
    assert inform_clock(story) == [(Side.RECEIVING, False)]


def test_an_inform_request_answered_in_time_meets_the_proceeding_s_clock() -> None:
    story = given([*UNTOLD, INFORM, C("justice-response", done_on=day(HOME + 5), day=HOME + 5)])

    assert inform_clock(story) == [(Side.RECEIVING, True)]
    assert not [c for c in overdue(story.stream(XA), T0 + timedelta(days=60))
                if c.name.startswith("inform the person")]


def test_an_inform_request_answered_late_leaves_the_clock_missed() -> None:
    late = HOME + 15  # the news went untold on day 11: due by day 25
    story = given([*UNTOLD, R("justice-request", due_on=day(late), day=HOME),
                   C("justice-response", done_on=day(late), day=late)])

    assert inform_clock(story) == [(Side.RECEIVING, False)]
    assert [c.name for c in overdue(story.stream(XA), T0 + timedelta(days=late))] == [
        "inform the person: proceeding CR-2026-1187"]


def test_an_answer_that_could_not_inform_the_person_leaves_the_clock_with_the_referring_agency(
) -> None:
    story = given([*UNTOLD, INFORM, C("justice-response", outcome="person_unreachable",
                                      day=HOME + 5)])

    assert inform_clock(story) == [(Side.REFERRING, False)]


def test_an_inform_request_covers_every_proceeding_whose_news_the_person_was_not_told() -> None:
    story = given([*UNTOLD, R("legal-proceeding", reference="CR-2026-2001", day=HOME),
                   R("proceeding-update", reference="CR-2026-2001", person_informed=False,
                     day=HOME),
                   R("legal-proceeding", reference="CR-2026-3003", day=HOME), INFORM])

    assert inform_clock(story) == [(Side.RECEIVING, False)] * 2  # the third has no news
    when(story, C("justice-response", day=HOME + 5))
    assert inform_clock(story) == [(Side.RECEIVING, True)] * 2


def test_news_the_person_was_told_of_later_stops_the_clock_as_before() -> None:
    story = given([*UNTOLD, INFORM, C("justice-response", day=HOME + 5),
                   R("proceeding-update", person_informed=False, day=HOME + 20)])

    assert inform_clock(story) == [(Side.REFERRING, False)]  # new news, a new clock


def test_a_request_before_the_person_left_is_out_of_sequence() -> None:
    story = given([*upto("transport"), R("legal-proceeding"), R("proceedings-clearance")])

    refused(story, R("justice-request"), "sequence")


def test_a_request_for_a_proceeding_not_linked_or_a_second_open_one_is_out_of_sequence() -> None:
    story = given(UNTOLD)

    refused(story, R("justice-request", reference="CR-0000", day=HOME), "sequence")
    when(story, INFORM)
    refused(story, INFORM, "sequence")


def test_compensation_is_handed_over_only_once_awarded() -> None:
    story = given([*upto("arrival"), R("compensation-claim", day=HOME)])
    pay = R("justice-request", kind="compensation_payment", reference=None, hearing_on=None,
            day=HOME)

    refused(story, pay, "sequence")
    when(story, R("compensation-decision", day=HOME))
    when(story, pay)
    when(story, C("justice-response", kind="compensation_payment", day=HOME + 3))
    assert story.stream(XA).state.compensation == "paid"


@pytest.mark.parametrize(("changes", "field"), [
    ({"reference": None}, "reference"),  # inform_person names its proceeding
    ({"kind": "remote_testimony", "hearing_on": None}, "hearing_on"),
    ({"kind": "compensation_payment", "reference": None}, "hearing_on"),
    ({"due_on": day(HOME - 1)}, "due_on"),
])
def test_a_request_that_contradicts_itself_is_422_naming_the_field(
        changes: dict[str, object], field: str) -> None:
    story = given([*UNTOLD, R("compensation-claim", day=HOME),
                   R("compensation-decision", day=HOME)])
    before = snapshot(story.stream(XA))

    with pytest.raises(InvalidField) as refusal:
        when(story, R("justice-request", day=HOME, **changes))
    assert refusal.value.field == field
    assert snapshot(story.stream(XA)) == before


def test_an_answer_needs_an_open_request_of_its_kind_from_the_receiving_agency() -> None:
    story = given([*UNTOLD, INFORM])

    refused(story, C("justice-response", kind="remote_testimony", day=HOME), "sequence")
    refused(story, R("justice-response", day=HOME), "step-owner")
    before = snapshot(story.stream(XB))
    with pytest.raises(InvalidField) as refusal:
        when(story, C("justice-response", done_on=day(HOME - 1), day=HOME))
    assert refusal.value.field == "done_on" and snapshot(story.stream(XB)) == before


def test_a_person_at_home_in_a_referral_may_be_asked_for_one_who_stays_may_not() -> None:
    referral = given([*upto("acceptance"), R("legal-proceeding")], kind="referral")
    when(referral, R("justice-request"))
    assert [len(side) for side in requests_at_both(referral)] == [1, 1]

    stays = given([*upto("acceptance"), R("legal-proceeding"), R("stay-decision")])
    refused(stays, R("justice-request"), "sequence")


def test_the_board_keeps_open_requests_and_a_clock_met_from_home_as_they_are() -> None:
    story = given([*UNTOLD, INFORM])
    steps = [C("justice-response", day=HOME + 5), R("compensation-claim", day=HOME + 5)]
    for state in (story.stream(XA).state, story.stream(XB).state):
        check_round_trip(state)
    for step in steps:
        when(story, step)
        for state in (story.stream(XA).state, story.stream(XB).state):
            check_round_trip(state)
    assert story.stream(XA).state.proceedings["CR-2026-1187"].told_from_home_on is not None
