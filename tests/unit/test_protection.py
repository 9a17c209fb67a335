"""After the hand-off the person is still protected: a reported risk of re-trafficking
is an escalation at both agencies until the receiving agency assesses it again with a
safety plan, and no case closes as completed while it stands."""

from __future__ import annotations

from datetime import datetime, timedelta

from events.deadlines import MONTH, overdue
from events.progress import HtcdsStatus, blocking, htcds_status, legal_matters, status
from events.readiness import Blocker
from events.values import Side, Status
from tests.harness.builders import BEA, T0, XA, XB, Story
from tests.harness.given import READY, C, R, changed, given, refused, upto, when

ARRIVAL = T0 + timedelta(days=10, hours=4)
MONTH_4 = (ARRIVAL + 4 * MONTH - T0).days
AT_RISK = [*upto("service"), C("follow-up", month=3, retrafficking_risk=True, day=MONTH_4)]
VALID = str((T0 + timedelta(days=MONTH_4 + 90)).date())
WITH_PLAN = C("risk-assessment", level="high", safety_plan="new address, weekly visits",
              valid_until=VALID, day=MONTH_4)


def escalations_at_both(story: Story) -> list[list[Blocker]]:
    now = T0 + timedelta(days=MONTH_4)
    return [[b for b in blocking(story.stream(a), now) if b.rule == "retrafficking-risk"]
            for a in (XA, XB)]


def test_a_risk_of_retrafficking_at_a_follow_up_is_owed_by_the_receiving_agency_at_both() -> None:
    story = given(AT_RISK)

    items = escalations_at_both(story)
    assert [[b.owed_by for b in side] for side in items] == [[Side.RECEIVING]] * 2


def test_closure_as_completed_is_refused_while_the_risk_stands_even_for_a_supervisor() -> None:
    story = given(AT_RISK)

    refused(story, C("closure", day=MONTH_4), "retrafficking-risk")
    refused(story, C("closure", actor=BEA, justification="she moved away", day=MONTH_4),
            "retrafficking-risk")


def test_a_new_assessment_with_a_safety_plan_clears_it_and_the_case_closes() -> None:
    story = given(AT_RISK)

    when(story, WITH_PLAN)

    assert escalations_at_both(story) == [[], []]
    assert when(story, C("closure", day=MONTH_4)).type == "CaseClosed"


def test_an_assessment_without_a_plan_or_by_the_referring_agency_does_not_clear_it() -> None:
    story = given(AT_RISK)

    when(story, C("risk-assessment", level="low", safety_plan=None, valid_until=VALID,
                          day=MONTH_4))
    when(story, R("risk-assessment", valid_until=VALID, day=MONTH_4))

    assert [len(side) for side in escalations_at_both(story)] == [1, 1]
    refused(story, C("closure", day=MONTH_4), "retrafficking-risk")


def test_a_follow_up_without_risk_leaves_no_escalation() -> None:
    story = given([*upto("service"), C("follow-up", month=3, day=MONTH_4)])

    assert escalations_at_both(story) == [[], []]


# -- identity confirmed before return ------------------------------------------------


def test_an_identity_not_confirmed_holds_the_case_at_both_owed_by_the_receiving_agency() -> None:
    story = given(changed(upto("identity-verification"), C("identity-verification", result="not_confirmed")))

    for agency in (XA, XB):
        case = story.stream(agency)
        assert status(case, T0) is Status.ON_HOLD
        assert [(b.rule, b.owed_by) for b in blocking(case, T0)
                if b.rule == "identity-confirmed"] == [("identity-confirmed", Side.RECEIVING)]
    when(story, R("identity-verification-request"))
    when(story, C("identity-verification"))
    assert {status(story.stream(a), T0) for a in (XA, XB)} == {Status.ACCEPTED}


def test_a_person_who_chose_to_stay_is_not_held_for_an_unconfirmed_identity() -> None:
    story = given([*changed(upto("identity-verification"), C("identity-verification",
                                                   result="not_confirmed")),
                   R("stay-decision")])

    assert {status(story.stream(a), T0) for a in (XA, XB)} == {Status.ACCEPTED}


# -- protection incidents -------------------------------------------------------------


def incident_items(story: Story, at: datetime = T0) -> list[list[tuple[str, Side]]]:
    return [[(b.rule, b.owed_by) for b in blocking(story.stream(a), at)
             if b.rule == "protection-incident"] for a in (XA, XB)]


def test_a_threat_before_departure_holds_the_planned_return_at_both() -> None:
    story = given([*READY, R("transport"), R("protection-incident")])

    assert {status(story.stream(a), T0) for a in (XA, XB)} == {Status.ON_HOLD}
    assert incident_items(story) == [[("protection-incident", Side.REFERRING)]] * 2
    when(story, R("risk-assessment", level="high"))
    assert {status(story.stream(a), T0) for a in (XA, XB)} == {Status.SCHEDULED}
    assert incident_items(story) == [[], []]


def test_an_incident_after_arrival_is_owed_by_the_receiving_agency_whoever_records_it() -> None:
    story = given([*upto("service"), R("protection-incident", kind="re_trafficked")])

    assert incident_items(story) == [[("protection-incident", Side.RECEIVING)]] * 2
    when(story, R("risk-assessment", level="high"))  # the other side's assessment: still owed
    assert incident_items(story) == [[("protection-incident", Side.RECEIVING)]] * 2
    when(story, C("risk-assessment", level="medium", safety_plan=None))  # no plan: still owed
    assert incident_items(story) == [[("protection-incident", Side.RECEIVING)]] * 2
    when(story, C("risk-assessment", level="medium"))
    assert incident_items(story) == [[], []]


def test_the_details_of_an_incident_stay_with_the_agency_that_wrote_them() -> None:
    story = given([*upto("acceptance"), C("protection-incident", kind="violence")])

    recorded = story.stream(XB).pending_events[-1]
    received = story.stream(XA).pending_events[-1]
    assert "details" in recorded.data  # type: ignore[attr-defined]
    assert received.data == {"side": "receiving", "kind": "violence",  # type: ignore[attr-defined]
                             "occurred_on": str(T0.date())}


# -- non-punishment -------------------------------------------------------------------


def test_a_fine_or_a_charge_does_not_hold_the_return_decision_and_stays_home() -> None:
    story = given([*upto("acceptance"), R("penalty-matter", kind="fine"),
                   R("penalty-matter", kind="charge", linked_to_exploitation=False)])

    assert when(story, R("return-decision")).type == "ReturnDecisionRecorded"
    assert legal_matters(story.stream(XA)) == [
        "charge open", "fine open, linked to the exploitation"]
    assert legal_matters(story.stream(XB)) == []


def test_closing_a_matter_never_opened_is_out_of_sequence() -> None:
    story = given(upto("acceptance"))

    refused(story, R("penalty-matter", status="closed"), "sequence")


# -- protection measures --------------------------------------------------------------


def test_a_protection_measure_is_listed_with_its_days_left_and_overdue_once_it_ends() -> None:
    story = given([*upto("acceptance"), C("protection-measure", kind="witness_protection",
                                          valid_until=str((T0 + timedelta(days=30)).date()))])
    xb = story.stream(XB)

    assert legal_matters(xb, T0) == [
        f"witness protection until {(T0 + timedelta(days=30)).date()}, expires in 30 days"]
    assert legal_matters(story.stream(XA), T0) == []  # it stays with the receiving agency
    assert overdue(xb, T0 + timedelta(days=30)) == []
    assert [(c.name, c.owed_by) for c in overdue(xb, T0 + timedelta(days=31))] == [
        ("renew the witness protection", Side.RECEIVING)]
    when(story, C("protection-measure", kind="witness_protection",
                  valid_until=str((T0 + timedelta(days=90)).date())))
    assert overdue(xb, T0 + timedelta(days=31)) == []


# -- help on both sides ---------------------------------------------------------------


def test_the_referring_agency_s_help_before_departure_is_seen_at_both_and_not_counted() -> None:
    story = given([*upto("acceptance"), R("shelter-admission"),
                   R("service", service="psychosocial", provider="Shelter counsellor"),
                   R("shelter-exit"), C("reintegration-plan")])

    for agency in (XA, XB):
        s = story.stream(agency).state
        assert (s.services_before_departure, s.services_delivered) == (1, 0)
        assert s.in_shelter_before_departure is False and s.plan_services is not None
    received = [e.data for e in story.stream(XB).pending_events  # type: ignore[attr-defined]
                if e.type == "ServiceDelivered"]
    assert [d["side"] for d in received] == ["referring"]


# -- HTCDS statuses -------------------------------------------------------------------


def test_the_htcds_status_follows_the_case() -> None:
    story = given(upto("acceptance"))
    assert htcds_status(story.stream(XA), T0) is HtcdsStatus.ACTIVE
    followed = given(upto("follow-up"))
    assert {htcds_status(followed.stream(a), T0) for a in (XA, XB)} == {HtcdsStatus.FOLLOW_UP}
    when(followed, C("closure"))
    assert {htcds_status(followed.stream(a), T0) for a in (XA, XB)} == {HtcdsStatus.CLOSED}
    transferred = given([*upto("acceptance"), R("closure", reason="transferred")])
    assert {htcds_status(transferred.stream(a), T0) for a in (XA, XB)} == {
        HtcdsStatus.CLOSED_REFERRED}
