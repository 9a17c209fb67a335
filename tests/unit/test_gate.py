"""The return's standing gate: every precondition of the return holds until departure.

For each precondition: transport is planned, then one agency records a fact that breaks
it (its own step; the partner gets it as a received fact). Both streams show `on_hold`
with the blocking item and the agency that owes it, departure is refused with the rule's
code, and once the precondition holds again both are `scheduled` and the person departs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from events.progress import blocking, status
from events.readiness import RETURN_PRECONDITIONS
from events.values import Status
from tests.harness.builders import BEA, SARA, T0, XA, XB
from tests.harness.given import ACCEPTED, READY, C, Do, R, given, play, refused, when

PLANNED = [*READY, R("transport")]
MINOR_PLANNED = [*READY, R("best-interests-determination"), C("family-tracing"),
                 C("caregiver-confirmation"),
                 R("transport")]
DEPARTURE_DAY = T0 + timedelta(days=10)  # the planned departure (builders.bodies)


def day(n: int) -> str:
    return str(T0.date() + timedelta(days=n))


@dataclass
class Broken:
    given: list[Do]
    breaks: Do
    rule: str  # the code departure is refused with, and the breaker's board item
    owed_by: str
    partner_item: tuple[str, str]  # (rule, owed by) on the other agency's board
    recovers: list[Do]
    opening: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


BROKEN = {
    "receiving risk became critical": Broken(
        PLANNED, C("risk-assessment", level="critical"), "risk-assessment-required", XB,
        ("risk-assessment-required", XB),
        [C("risk-assessment", actor=BEA, level="medium", justification="recruiter arrested")],
        detail="receiving risk is critical"),
    "referring risk became critical": Broken(
        PLANNED, R("risk-assessment", level="critical"), "risk-assessment-required", XA,
        ("risk-assessment-required", XA),
        [R("risk-assessment", actor=SARA, level="medium", justification="recruiter arrested")]),
    "an asylum claim was lodged": Broken(
        PLANNED, R("asylum-claim"), "asylum-guard", XA, ("return-held", XA),
        [R("asylum-claim-closure", outcome="refused")], detail="asylum"),
    "the person became a witness in open proceedings": Broken(
        PLANNED, R("legal-proceeding"), "proceedings-clearance", XA, ("return-held", XA),
        [R("proceedings-clearance")]),
    "the best-interests determination turned against return": Broken(
        MINOR_PLANNED, R("best-interests-determination", in_favour_of_return=False),
        "minor-safeguards", XA, ("minor-safeguards", XA), [R("best-interests-determination")],
        opening={"minor": True}),
    "a travel document ending before arrival replaced the valid one": Broken(
        PLANNED, C("travel-document", valid_until=day(9)), "travel-document-valid", XB,
        ("travel-document-valid", XB), [C("travel-document")]),
    "reception was moved past the arrival": Broken(
        PLANNED, C("reception", from_date=day(11)), "reception-required", XB,
        ("reception-required", XB), [C("reception")]),
}


def items(story: Any, agency: str, now: Any = T0) -> list[tuple[str, str, str]]:
    case = story.stream(agency)
    return [(b.rule, case.agency(b.owed_by), b.detail) for b in blocking(case, now)]


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_precondition_holds_the_return_at_both_agencies(broken: Broken) -> None:
    story = given(broken.given, **broken.opening)
    assert all(status(story.stream(a), T0) is Status.SCHEDULED for a in (XA, XB))

    when(story, broken.breaks)

    breaker = broken.breaks.agency
    partner = XB if breaker == XA else XA
    for agency in (XA, XB):
        assert status(story.stream(agency), T0) is Status.ON_HOLD, agency
    mine = items(story, breaker)
    assert [(r, o) for r, o, _ in mine] == [(broken.rule, broken.owed_by)]
    assert broken.detail in mine[0][2]
    assert [(r, o) for r, o, _ in items(story, partner)] == [broken.partner_item]
    refused(story, R("departure"), broken.rule)

    play(story, broken.recovers)

    for agency in (XA, XB):
        assert status(story.stream(agency), T0) is Status.SCHEDULED, agency
    assert when(story, R("departure")).type == "DepartureConfirmed"


def test_the_partner_never_learns_why_the_return_is_held() -> None:
    story = given(PLANNED)
    when(story, R("asylum-claim"))

    [(rule, owed_by, detail)] = items(story, XB)
    assert (rule, owed_by) == ("return-held", XA)
    assert "asylum" not in detail.lower()
    assert not story.stream(XB).state.asylum_open


def test_a_risk_assessment_expiring_before_departure_holds_the_return() -> None:
    story = given([*PLANNED[:-1], R("risk-assessment", valid_until=day(5)), R("transport")])
    assert status(story.stream(XB), T0) is Status.SCHEDULED

    later = T0 + timedelta(days=6)
    for agency in (XA, XB):
        assert status(story.stream(agency), later) is Status.ON_HOLD
        assert [(r, o) for r, o, _ in items(story, agency, later)] == [
            ("risk-assessment-required", XA)]
    refused(story, R("departure"), "risk-assessment-required")  # recorded on departure day

    when(story, R("risk-assessment", day=6))
    assert status(story.stream(XB), later) is Status.SCHEDULED
    assert when(story, R("departure")).type == "DepartureConfirmed"


def test_consent_withdrawn_and_given_again_needs_a_new_return_decision() -> None:
    story = given(PLANNED)
    when(story, R("consent-withdrawal"))
    when(story, R("consent", scopes=["return"]))

    for agency in (XA, XB):
        assert status(story.stream(agency), T0) is Status.PREPARING
        assert [(r, o) for r, o, _ in items(story, agency)] == [("return-consent-required", XA)]
    refused(story, R("transport"), "return-consent-required")
    when(story, R("return-decision"))
    assert status(story.stream(XB), T0) is Status.READY  # the plan was cancelled
    when(story, R("transport"))
    assert status(story.stream(XB), T0) is Status.SCHEDULED


def test_protection_granted_bars_the_return_for_good() -> None:
    story = given([*PLANNED, R("asylum-claim"), R("asylum-claim-closure", outcome="granted")])

    refused(story, R("departure"), "asylum-guard")
    refused(story, R("return-decision"), "asylum-guard")
    when(story, R("transport-cancellation"))
    refused(story, R("transport"), "asylum-guard")
    assert [(r, o) for r, o, _ in items(story, XB)] == [("return-held", XA)]
    event = when(story, R("closure", reason="protection_granted"))
    assert event.data["reason"] == "protection_granted"
    assert story.stream(XB).state.closure_reason == "other"  # as the partner learnt it


def test_every_precondition_is_a_named_check_with_its_rule_and_owing_agency() -> None:
    names = [p.name for p in RETURN_PRECONDITIONS]
    assert len(names) == len(set(names))
    assert {p.rule for p in RETURN_PRECONDITIONS} >= {
        "asylum-guard", "return-consent-required", "risk-assessment-required",
        "minor-safeguards", "proceedings-clearance", "travel-document-valid",
        "reception-required", "fit-to-travel"}


def test_a_disputed_age_after_planning_holds_the_return_until_a_childs_safeguards_hold() -> None:
    story = given(PLANNED)
    when(story, R("age-assessment"))  # disputed: a minor from now on, at both agencies

    expected = [("minor-safeguards", XA, "a guardian for the child"),
                ("minor-safeguards", XA, "a best-interests determination in favour of return"),
                ("minor-safeguards", XB, "a confirmed caregiver")]
    for agency in (XA, XB):
        assert status(story.stream(agency), T0) is Status.ON_HOLD, agency
        assert items(story, agency) == expected
    refused(story, R("departure"), "minor-safeguards")

    play(story, [R("guardian"), R("best-interests-determination"), C("family-tracing"),
                 C("caregiver-confirmation")])

    for agency in (XA, XB):
        assert status(story.stream(agency), T0) is Status.SCHEDULED, agency
    assert when(story, R("departure")).type == "DepartureConfirmed"


def test_the_reflection_period_is_a_check_of_the_gate() -> None:
    story = given(ACCEPTED, reflection_period_start=day(0))  # before any return decision
    names = [p.name for p in RETURN_PRECONDITIONS]
    assert names.index("reflection period") == names.index("return consent and decision") + 1
    during = [(r, o) for r, o, _ in items(story, XA)]
    after = [(r, o) for r, o, _ in items(story, XA, T0 + timedelta(days=30))]
    assert ("reflection-period", XA) in during and ("reflection-period", XA) not in after
