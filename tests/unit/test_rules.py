"""Every rule of DOMAIN.md, as pairs: given these steps, when this command, then this
error and an unchanged case; and once the precondition holds (`meet`), the command
(or its rightful counterpart, `then_ok`) records its event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from events.rules import RULES
from events.steps import BY_EVENT, STEPS
from events.values import Actor
from tests.harness.builders import BEA, SARA, T0
from tests.harness.given import (
    ACCEPTED,
    HAPPY,
    READY,
    C,
    Do,
    R,
    changed,
    given,
    play,
    refused,
    upto,
    when,
    without,
)

EVE_ELSEWHERE = Actor("XC-NRM", "eve")
ARRIVED = upto("arrival")
MINOR_READY = [*READY, R("best-interests-determination"), C("family-tracing"),
               C("caregiver-confirmation")]


def day(n: int) -> str:
    """The ISO date n days after T0 (the planned arrival is day 10)."""
    return str(T0.date() + timedelta(days=n))


@dataclass
class Rule:
    code: str
    given: list[Do]
    when: Do
    meet: list[Do]
    then_ok: Do | None = None
    opening: dict[str, Any] = field(default_factory=dict)


RULE_CASES = {
    # step-owner
    "the receiving agency records consent": Rule(
        "step-owner", ACCEPTED, C("consent"), [], then_ok=R("consent")),
    "the referring agency accepts its own referral": Rule(
        "step-owner", upto("acknowledgement"), R("acceptance"), [], then_ok=C("acceptance")),
    "an agency outside the corridor sends the referral": Rule(
        "step-owner", [R("consent")], R("referral", actor=EVE_ELSEWHERE), [], then_ok=R("referral")),
    "the receiving agency closes before arrival": Rule(
        "step-owner", ACCEPTED, C("closure"), [], then_ok=R("closure", reason="other")),
    "the referring agency closes after arrival": Rule(
        "step-owner", [*ARRIVED, C("reintegration-plan")], R("closure"), [],
        then_ok=C("closure", reason="other")),
    # consent-required
    "a referral without consent": Rule(
        "consent-required", [], R("referral"), [R("consent")]),
    "a referral under a supervisor's risk-to-life override": Rule(
        "consent-required", [], R("referral"), [R("risk-to-life-override", actor=SARA)]),
    "a risk-to-life override by a caseworker": Rule(
        "consent-required", [], R("risk-to-life-override"), [],
        then_ok=R("risk-to-life-override", actor=SARA)),
    "a guardian consents for an adult without a capacity assessment": Rule(
        "consent-required", [], R("consent", given_by="guardian"), [R("capacity-assessment")]),
    "a guardian consents for an adult found to have capacity": Rule(
        "consent-required", [R("capacity-assessment", incapacity_found=False)],
        R("consent", given_by="guardian"), [R("capacity-assessment")]),
    # data-minimisation
    "identity verification without consent to share identity": Rule(
        "data-minimisation", [R("consent", scopes=["refer"]), R("referral")],
        R("identity-verification-request"), [R("consent", scopes=["share_identity"])]),
    # asylum-guard
    "a referral while an asylum claim is open": Rule(
        "asylum-guard", [R("consent"), R("asylum-claim")], R("referral"),
        [R("asylum-claim-closure")]),
    "identity verification while an asylum claim is open": Rule(
        "asylum-guard", [R("consent"), R("referral"), R("asylum-claim")],
        R("identity-verification-request"), [R("asylum-claim-closure")]),
    "a return decision while an asylum claim is open": Rule(
        "asylum-guard", [*ACCEPTED, R("asylum-claim")], R("return-decision"),
        [R("asylum-claim-closure")]),
    "transport while an asylum claim is open": Rule(
        "asylum-guard", [*READY, R("asylum-claim")], R("transport"),
        [R("asylum-claim-closure")]),
    "departure after an asylum claim was lodged": Rule(
        "asylum-guard", [*READY, R("transport"), R("asylum-claim")], R("departure"),
        [R("asylum-claim-closure", outcome="withdrawn")]),
    "transport after protection was granted": Rule(
        "asylum-guard", [*READY, R("asylum-claim"), R("asylum-claim-closure", outcome="granted")],
        R("transport"), [], then_ok=R("closure", reason="protection_granted")),
    # acceptance-required
    "a return decision before acceptance": Rule(
        "acceptance-required", upto("acknowledgement"), R("return-decision"), [C("acceptance")]),
    "a travel document before acceptance": Rule(
        "acceptance-required", upto("referral"), C("travel-document"), [C("acceptance")]),
    "a reception before acceptance": Rule(
        "acceptance-required", upto("acknowledgement"), C("reception"), [C("acceptance")]),
    # return-consent-required
    "transport without consent to return": Rule(
        "return-consent-required",
        changed(READY, R("consent", scopes=["refer", "share_identity", "share_health"])),
        R("transport"), [R("consent", scopes=["return"])]),
    "transport after an involuntary return decision": Rule(
        "return-consent-required", changed(READY, R("return-decision", voluntary=False)),
        R("transport"), [R("return-decision")]),
    "transport after an uninformed return decision": Rule(
        "return-consent-required", changed(READY, R("return-decision", informed=False)),
        R("transport"), [R("return-decision")]),
    "transport after consent to return was withdrawn and given again": Rule(
        "return-consent-required", [*READY, R("consent-withdrawal"), R("consent")],
        R("transport"), [R("return-decision")]),
    # risk-assessment-required
    "transport without the referring risk assessment": Rule(
        "risk-assessment-required", without(READY, "XA-NRM", "risk-assessment"), R("transport"),
        [R("risk-assessment")]),
    "transport without the receiving risk assessment": Rule(
        "risk-assessment-required", without(READY, "XB-NRM", "risk-assessment"), R("transport"),
        [C("risk-assessment")]),
    "transport after the referring risk assessment expired": Rule(
        "risk-assessment-required", changed(READY, R("risk-assessment", valid_until=day(1))),
        R("transport", day=3), [R("risk-assessment", day=3)]),
    "transport while the receiving risk is critical": Rule(
        "risk-assessment-required", changed(READY, C("risk-assessment", level="critical")),
        R("transport"), [C("risk-assessment", actor=BEA, level="medium",
                           justification="the trafficker was convicted")]),
    "a high risk assessed without a safety plan": Rule(
        "risk-assessment-required", ACCEPTED, R("risk-assessment", level="high", safety_plan=None),
        [], then_ok=R("risk-assessment", level="high")),
    "a risk assessment already past its validity": Rule(
        "risk-assessment-required", ACCEPTED, R("risk-assessment", valid_until=day(-1)),
        [], then_ok=R("risk-assessment", valid_until=day(0))),
    "departure after the receiving risk became critical": Rule(
        "risk-assessment-required", [*READY, R("transport"), C("risk-assessment", level="critical")],
        R("departure"), [C("risk-assessment", actor=BEA, level="low",
                           justification="the recruiter was arrested")]),
    # risk-downgrade-justified
    "a caseworker lowers the side's critical risk": Rule(
        "risk-downgrade-justified", [*ACCEPTED, C("risk-assessment", level="critical")],
        C("risk-assessment", level="low", justification="the recruiter was arrested"), [],
        then_ok=C("risk-assessment", actor=BEA, level="low",
                  justification="the recruiter was arrested")),
    "a supervisor lowers the side's high risk without a justification": Rule(
        "risk-downgrade-justified", [*ACCEPTED, R("risk-assessment", level="high")],
        R("risk-assessment", actor=SARA, level="medium"), [],
        then_ok=R("risk-assessment", actor=SARA, level="medium",
                  justification="the debt was settled by the court")),
    # fit-to-travel
    "transport for a person not fit to travel": Rule(
        "fit-to-travel", READY, R("transport", fit_to_travel=False), [], then_ok=R("transport")),
    # minor-safeguards
    "a minor's transport without a best-interests determination": Rule(
        "minor-safeguards", [*READY, C("family-tracing"), C("caregiver-confirmation")], R("transport"),
        [R("best-interests-determination")], opening={"minor": True}),
    "a minor's transport against the best-interests determination": Rule(
        "minor-safeguards", changed(MINOR_READY, R("best-interests-determination",
                                                   in_favour_of_return=False)),
        R("transport"), [R("best-interests-determination")], opening={"minor": True}),
    "a minor's departure after the best-interests determination turned against return": Rule(
        "minor-safeguards", [*MINOR_READY, R("transport"),
                             R("best-interests-determination", in_favour_of_return=False)],
        R("departure"), [R("best-interests-determination")], opening={"minor": True}),
    "a minor's transport without a confirmed caregiver": Rule(
        "minor-safeguards", [*READY, R("best-interests-determination")], R("transport"),
        [C("family-tracing"), C("caregiver-confirmation")], opening={"minor": True}),
    "a child consents without the guardian": Rule(
        "minor-safeguards", [], R("consent", given_by="person"), [], then_ok=R("consent"),
        opening={"minor": True}),
    "a guardian consents for a child whose views were not heard": Rule(
        "minor-safeguards", [], R("consent", child_views_heard=False), [], then_ok=R("consent"),
        opening={"minor": True}),
    "a person of disputed age consents before a guardian is recorded": Rule(
        "minor-safeguards", [R("age-assessment")],
        R("consent", given_by="guardian", child_views_heard=True), [R("guardian")]),
    # reflection-period
    "a return decision within the reflection period": Rule(
        "reflection-period", ACCEPTED, R("return-decision"), [],
        then_ok=R("return-decision", early_return_requested=True),
        opening={"reflection_period_start": day(0)}),
    "a return decision on the last day of the reflection period": Rule(
        "reflection-period", ACCEPTED, R("return-decision", day=29), [],
        then_ok=R("return-decision", day=30), opening={"reflection_period_start": day(0)}),
    # proceedings-clearance
    "transport while the person is a witness in open proceedings": Rule(
        "proceedings-clearance", [R("legal-proceeding"), *READY], R("transport"),
        [R("proceedings-clearance")]),
    "departure after the person became a witness in open proceedings": Rule(
        "proceedings-clearance", [*READY, R("transport"), R("legal-proceeding")], R("departure"),
        [R("proceedings-clearance")]),
    # identity-confirmed
    "transport after the country of return did not confirm the identity": Rule(
        "identity-confirmed", changed(READY, C("identity-verification", result="not_confirmed")),
        R("transport"), [R("identity-verification-request"), C("identity-verification")]),
    "departure once a later verification did not confirm the identity": Rule(
        "identity-confirmed",
        [*READY, R("transport"), R("identity-verification-request"),
         C("identity-verification", result="not_confirmed")],
        R("departure"), [R("identity-verification-request"), C("identity-verification")]),
    # protection-incident
    "transport after a threat not yet answered by a new assessment with a plan": Rule(
        "protection-incident", [*READY, R("protection-incident")], R("transport"),
        [R("risk-assessment", level="high")]),
    "departure after contact by the traffickers": Rule(
        "protection-incident",
        [*READY, R("transport"), C("protection-incident", kind="contact_by_traffickers")],
        R("departure"), [R("risk-assessment", level="high")]),
    # non-punishment
    "a return decision under an open removal order": Rule(
        "non-punishment", [*ACCEPTED, R("penalty-matter")], R("return-decision"),
        [R("penalty-matter", status="closed")]),
    "a caseworker's return decision, justified, while the person is detained": Rule(
        "non-punishment", [*ACCEPTED, R("penalty-matter", kind="detention")],
        R("return-decision", justification="she asked to go home"), [],
        then_ok=R("return-decision", actor=SARA, justification="she asked to go home")),
    "a supervisor's return decision under a removal order without a justification": Rule(
        "non-punishment", [*ACCEPTED, R("penalty-matter")], R("return-decision", actor=SARA),
        [], then_ok=R("return-decision", actor=SARA,
                      justification="her own wish, confirmed with her lawyer")),
    # travel-document-valid
    "transport without a travel document": Rule(
        "travel-document-valid", without(READY, "XB-NRM", "travel-document"), R("transport"),
        [C("travel-document")]),
    "transport with a travel document expiring before arrival": Rule(
        "travel-document-valid", changed(READY, C("travel-document", valid_until=day(9))),
        R("transport"), [C("travel-document", valid_until=day(10))]),
    "departure after a travel document expiring before arrival replaced the valid one": Rule(
        "travel-document-valid", [*READY, R("transport"), C("travel-document", valid_until=day(9))],
        R("departure"), [C("travel-document")]),
    # reception-required
    "transport without reception arrangements": Rule(
        "reception-required", without(READY, "XB-NRM", "reception"), R("transport"),
        [C("reception")]),
    "transport with reception only from after the arrival date": Rule(
        "reception-required", changed(READY, C("reception", from_date=day(11))), R("transport"),
        [C("reception", from_date=day(10))]),
    "departure after reception was moved past the arrival": Rule(
        "reception-required", [*READY, R("transport"), C("reception", from_date=day(11))],
        R("departure"), [C("reception")]),
    # consent-withdrawal-halts
    "transport after consent to return was withdrawn": Rule(
        "consent-withdrawal-halts", [*READY, R("consent-withdrawal")], R("transport"),
        [R("consent", scopes=["return"]), R("return-decision")]),
    "departure after consent to return was withdrawn": Rule(
        "consent-withdrawal-halts", [*READY, R("transport"), R("consent-withdrawal")],
        R("departure"), [R("consent", scopes=["return"]), R("return-decision"), R("transport")]),
    # sequence
    "departure before transport is planned": Rule(
        "sequence", READY, R("departure"), [R("transport")]),
    "arrival before departure": Rule(
        "sequence", [*READY, R("transport")], C("arrival"), [R("departure")]),
    "a follow-up after closure": Rule(
        "sequence", HAPPY, C("follow-up", month=6), [C("reopening")]),
    "a referral step on a closed case": Rule(
        "sequence", [R("consent"), R("closure", reason="other")], R("referral"), [R("reopening")]),
    "a reopening of an open case": Rule(
        "sequence", ACCEPTED, R("reopening"), [R("closure", reason="declined")]),
    "a clearance without linked proceedings": Rule(
        "sequence", ACCEPTED, R("proceedings-clearance"), [R("legal-proceeding")]),
    "a stay decided after departure": Rule(
        "sequence", [*READY, R("transport"), R("departure")], R("stay-decision"),
        [], then_ok=C("arrival")),
    "a return decision after the person chose to stay": Rule(
        "sequence", [*ACCEPTED, R("stay-decision")], R("return-decision"), [],
        then_ok=R("legal-proceeding")),
    "an update of a proceeding never linked": Rule(
        "sequence", ACCEPTED, R("proceeding-update"), [R("legal-proceeding")]),
    "a proceeding closed twice": Rule(
        "sequence", [R("legal-proceeding"), R("proceeding-closure")], R("proceeding-closure"),
        [R("legal-proceeding")]),
    "a compensation decision without a claim": Rule(
        "sequence", ACCEPTED, R("compensation-decision"), [R("compensation-claim")]),
    # closure-justified
    "a caseworker closes an arrived case without a plan": Rule(
        "closure-justified", ARRIVED, C("closure", reason="other"), [C("reintegration-plan")]),
    "a supervisor closes an arrived case without a justification": Rule(
        "closure-justified", ARRIVED, C("closure", actor=BEA), [],
        then_ok=C("closure", actor=BEA, justification="the person moved abroad")),
    "a closure as completed without any service delivered": Rule(
        "closure-justified", [*ARRIVED, C("reintegration-plan")], C("closure"), [C("service")]),
    "a closure as completed before arrival": Rule(
        "closure-justified", READY, R("closure"), [],
        then_ok=R("closure", actor=SARA, justification="the person stays: residence permit")),
    "a caseworker justifies closing an arrived case without a plan": Rule(
        "closure-justified", ARRIVED, C("closure", justification="the person moved abroad"), [],
        then_ok=C("closure", actor=BEA, justification="the person moved abroad")),
    # retrafficking-risk
    "a closure as completed while a reported risk of re-trafficking stands": Rule(
        "retrafficking-risk", [*upto("service"), C("follow-up", retrafficking_risk=True)],
        C("closure"), [C("risk-assessment", level="high")]),
}


def test_every_rule_code_has_a_refusal_and_a_success() -> None:
    assert {rule.code for rule in RULE_CASES.values()} == set(RULES)


@pytest.mark.parametrize("rule", RULE_CASES.values(), ids=RULE_CASES.keys())
def test_the_step_is_refused_and_the_case_unchanged(rule: Rule) -> None:
    story = given(rule.given, **rule.opening)

    refused(story, rule.when, rule.code)


@pytest.mark.parametrize("rule", RULE_CASES.values(), ids=RULE_CASES.keys())
def test_the_step_is_recorded_once_the_precondition_holds(rule: Rule) -> None:
    story = given(rule.given, **rule.opening)
    play(story, rule.meet)
    command = rule.then_ok or rule.when
    case = story.stream(command.agency)
    version = case.version

    event = when(story, command)

    assert event.type == STEPS[command.path].event.__name__
    recorded = case.pending_events[version:]  # the step, then what the case announces itself
    assert recorded[0] is event and all(BY_EVENT[type(e)].automatic for e in recorded[1:])
    assert event.recorded_by == command.agency


@pytest.mark.parametrize("name", list(RULE_CASES))
def test_the_refusal_is_among_the_codes_the_step_declares(name: str) -> None:
    # The OpenAPI document lists `refusals(step)` as each step's 409 rule codes.
    from events.step import refusals

    rule = RULE_CASES[name]
    assert rule.code in refusals(STEPS[rule.when.path]), (rule.when.path, rule.code)


def test_every_rule_is_declared_by_some_step() -> None:
    from events.step import refusals

    declared = set().union(*(refusals(step) for step in STEPS.values()))
    assert declared == set(RULES)
