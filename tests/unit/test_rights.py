"""The person's rights as paths through a case, numbered as caseworkers live them: a
child returned with a guardian, a person who stays, an urgent case, a witness kept
informed and compensated. Clocks run on an injected time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events.deadlines import Deadlines, clocks, overdue, reflection_ends
from events.progress import blocking, legal_matters, status
from events.rules import InvalidField, ReflectionPeriod
from events.steps import OpenCase, open_case
from events.values import Kind, Status
from tests.harness.builders import ANNA, REPATRIATION, T0, XA, XB, Story, opening
from tests.harness.given import ACCEPTED, R, given, play

HOUR = timedelta(hours=1)


def open_with(**changes: object) -> OpenCase:
    return OpenCase.model_validate({**opening(), **changes})


# -- children ------------------------------------------------------------------------


def test_minor_follows_the_date_of_birth_at_opening() -> None:
    child = {**opening()["person"], "date_of_birth": str(T0.date().replace(year=T0.year - 12))}
    case = open_case(open_with(person=child, minor=None), ANNA, T0)
    assert case.state.minor is True
    turned_18_today = {**child, "date_of_birth": str(T0.date().replace(year=T0.year - 18))}
    assert open_case(open_with(person=turned_18_today, minor=None), ANNA, T0).state.minor is False


def test_a_minor_flag_that_contradicts_the_date_of_birth_is_refused_naming_minor() -> None:
    child = {**opening()["person"], "date_of_birth": str(T0.date().replace(year=T0.year - 12))}
    with pytest.raises(InvalidField) as refusal:
        open_case(open_with(person=child, minor=False), ANNA, T0)
    assert refusal.value.field == "minor"
    with pytest.raises(InvalidField):
        open_case(open_with(minor=True), ANNA, T0)  # an adult's date of birth


def test_while_age_is_disputed_the_person_is_treated_as_a_minor_at_both_agencies() -> None:
    story = given([R("age-assessment")])
    assert story.xa.state.minor
    story.step(XA, "guardian")
    story.step(XA, "consent", given_by="guardian", child_views_heard=True)
    story.step(XA, "referral")
    assert story.stream(XB).state.minor  # the receiving agency prepares for a child
    story.step(XA, "age-assessment", outcome="adult")
    assert not story.xa.state.minor and not story.stream(XB).state.minor


def test_the_board_asks_for_a_guardian_before_a_childs_consent() -> None:
    case = open_case(open_with(person={**opening()["person"], "date_of_birth": "2015-01-01"},
                               minor=None), ANNA, T0)
    assert [(b.rule, b.detail) for b in blocking(case, T0)][0] == (
        "minor-safeguards", "a guardian, who consents for the child")
    assert [b.rule for b in blocking(Story(minor=True).xa, T0)] == ["consent-required"]


def test_consent_in_a_language_the_person_does_not_speak_needs_an_interpreter() -> None:
    story = Story()  # speaks ro and en
    version = story.xa.version
    with pytest.raises(InvalidField) as refusal:
        story.step(XA, "consent", language="fr", interpreter=False)
    assert refusal.value.field == "interpreter" and story.xa.version == version
    story.step(XA, "consent", language="EN", interpreter=False)
    story.step(XA, "consent", language="fr", interpreter=True)


def test_1_a_child_returns_with_a_guardian_a_best_interests_determination_and_a_caregiver(
) -> None:
    story = Story(minor=True)  # the guardian is recorded first; the guardian consents
    story.run(REPATRIATION[:11])
    story.step(XA, "best-interests-determination")
    story.step(XB, "family-tracing")
    story.step(XB, "caregiver-confirmation")
    story.run(REPATRIATION[11:14])
    assert [e.type for e in story.xa.pending_events[1:3]] == ["GuardianAppointed",
                                                              "ConsentRecorded"]
    assert story.xa.pending_events[2].data["child_views_heard"] is True
    assert status(story.stream(XB), story.at) is Status.ARRIVED
    assert story.stream(XB).state.guardian_appointed


# -- choosing to stay ----------------------------------------------------------------


def test_2_a_person_who_stays_is_helped_at_home_two_years_later_through_the_referral() -> None:
    story = given([*ACCEPTED, R("risk-assessment"), R("return-decision")])
    story.step(XA, "stay-decision", basis="asylum")
    story.step(XA, "residence-permit")
    for case in (story.xa, story.stream(XB)):
        assert case.state.kind is Kind.REFERRAL
        assert status(case, story.at) is Status.ACCEPTED
        assert blocking(case, story.at) == []  # no return task at either agency
    assert story.stream(XB).state.stay_decided_on is not None
    assert story.stream(XB).state.residence_permit is None  # never crossed
    story.at += timedelta(days=730)  # back home on their own, asking for help
    story.step(XB, "reintegration-plan")
    story.step(XB, "service")
    assert status(story.xa, story.at) is Status.REINTEGRATING
    assert story.xa.state.services_delivered == 1


def test_a_stay_decision_cancels_planned_transport_and_ends_a_hold() -> None:
    story = given([*ACCEPTED])
    story.run([(XA, "risk-assessment"), (XB, "risk-assessment"), (XA, "return-decision"),
               (XB, "travel-document"), (XB, "reception"), (XA, "transport")])
    story.step(XA, "consent-withdrawal")
    story.step(XA, "stay-decision")
    for case in (story.xa, story.stream(XB)):
        assert case.state.transport is None and not case.state.on_hold
        assert status(case, story.at) is Status.ACCEPTED


# -- urgent cases ----------------------------------------------------------------------


def test_3_an_urgent_case_is_prepared_before_acceptance_and_decided_within_a_day() -> None:
    story = Story(urgency="urgent")
    story.run([(XA, "consent"), (XA, "referral")])
    referred = story.at
    story.run([(XA, "risk-assessment"), (XA, "return-decision")])
    story.step(XA, "best-interests-determination") if story.xa.state.minor else None
    story.step(XA, "legal-proceeding")
    assert story.xa.state.return_decision_ok and story.xa.state.accepted_at is None
    due = {c.name: c.due_at for c in clocks(story.xa)}
    assert due["acknowledge referral"] == referred + 4 * HOUR
    assert due["accept or decline"] == referred + 24 * HOUR
    assert [c.name for c in overdue(story.xa, referred + 5 * HOUR)] == ["acknowledge referral"]
    story.at = referred + 3 * HOUR
    story.step(XB, "acknowledgement")
    story.at = referred + 20 * HOUR
    story.step(XB, "acceptance")
    assert overdue(story.xa, referred + 48 * HOUR) == []
    assert status(story.xa, story.at) is Status.PREPARING


def test_an_urgent_profile_is_set_per_corridor() -> None:
    story = Story(urgency="urgent")
    story.run([(XA, "consent"), (XA, "referral")])
    corridor = Deadlines(urgent_acknowledge=HOUR, urgent_decide=12 * HOUR)
    names = [c.name for c in overdue(story.xa, story.at + 2 * HOUR, corridor)]
    assert names == ["acknowledge referral"]


def test_a_routine_case_waits_for_acceptance_before_any_return_preparation() -> None:
    story = given([R("consent"), R("referral")])
    with pytest.raises(Exception) as refusal:
        story.step(XA, "return-decision")
    assert getattr(refusal.value, "code", None) == "acceptance-required"


# -- the reflection and recovery period ------------------------------------------------


def test_the_reflection_period_holds_the_return_decision_until_it_ends() -> None:
    story = given(ACCEPTED, reflection_period_start=str(T0.date()))
    ends = T0.date() + timedelta(days=30)
    assert story.xa.state.reflection_ends == ends
    assert reflection_ends(story.xa, T0) == ends
    assert "reflection-period" in [b.rule for b in blocking(story.xa, T0)]
    with pytest.raises(ReflectionPeriod):
        play(story, [R("return-decision", day=29)])
    assert reflection_ends(story.xa, T0 + timedelta(days=30)) is None
    play(story, [R("return-decision", day=30)])


def test_the_reflection_period_is_as_long_as_the_corridor_says() -> None:
    body = open_with(reflection_period_start=str(T0.date()))
    case = open_case(body, ANNA, T0, reflection=timedelta(days=90))
    assert case.state.reflection_ends == T0.date() + timedelta(days=90)
    assert "reflection_period_end" in case.pending_events[0].data


def test_the_person_may_ask_to_return_within_the_reflection_period() -> None:
    story = given(ACCEPTED, reflection_period_start=str(T0.date()))
    story.step(XA, "return-decision", early_return_requested=True)
    assert story.xa.state.return_decision_ok
    assert story.stream(XB).pending_events[-1].data["early_return_requested"] is True


# -- justice ---------------------------------------------------------------------------


def test_4_a_witness_is_informed_of_each_hearing_and_compensated() -> None:
    story = given([*ACCEPTED], kind="referral")
    story.step(XA, "legal-proceeding")
    story.step(XA, "legal-assistance")
    hearing = story.at
    story.step(XA, "proceeding-update", person_informed=False)
    names = [c.name for c in clocks(story.xa)]
    assert names[-1] == "inform the person: proceeding CR-2026-1187"
    assert overdue(story.xa, hearing + timedelta(days=14)) == []
    assert [c.name for c in overdue(story.xa, hearing + timedelta(days=14, minutes=1))] == [
        "inform the person: proceeding CR-2026-1187"]
    story.at = hearing + timedelta(days=3)
    story.step(XA, "proceeding-update", person_informed=False)  # the clock keeps its start
    assert overdue(story.xa, hearing + timedelta(days=15))
    story.step(XA, "proceeding-update", person_informed=True)
    assert overdue(story.xa, hearing + timedelta(days=30)) == []
    assert legal_matters(story.xa)[0].startswith("proceeding CR-2026-1187 (witness, trial")
    story.step(XA, "proceeding-closure")
    story.step(XA, "compensation-claim")
    assert legal_matters(story.xa)[-1] == "compensation claim pending"
    story.step(XA, "compensation-decision")
    assert story.xa.state.compensation == "awarded"
    assert not story.xa.state.proceedings_open
    partner = story.stream(XB)
    assert partner.state.proceedings == {} and partner.state.compensation is None
