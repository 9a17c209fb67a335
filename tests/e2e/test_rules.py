"""Every rule of DOMAIN.md refuses through HTTP with its code, and the case stays as
it was: 403 for `step-owner` (the partner's step), 409 for every other rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from events.rules import RULES
from services.api.http.problems import PROBLEM_JSON
from services.network.demo_cases import Move, repatriation
from tests.harness.http_nodes import HttpNode, Pair, open_case, play
from tests.harness.walks import (
    PRIVATE_BEFORE,
    at_risk_at_month_3,
    identity_not_confirmed,
    threatened_before_departure,
)


@dataclass(frozen=True)
class Refusal:
    http: HttpNode
    case_id: str
    path: str
    body: dict[str, Any]
    role: str = "caseworker"


def moves(p: Pair, *, scopes: list[str] | None = None, minor: bool = False,
          **bodies: dict[str, Any]) -> list[Move]:
    """The repatriation story, each named step's body changed as given."""
    story = repatriation(p.clock.now().date(), scopes, minor=minor)
    return [replace(m, body={**m.body, **bodies.get(m.path.replace("-", "_"), {})})
            for m in story.moves]


def until(story: list[Move], path: str) -> list[Move]:
    return story[:[m.path for m in story].index(path)]


def body_of(story: list[Move], path: str) -> dict[str, Any]:
    return next(m.body for m in story if m.path == path)


def minor_case(p: Pair) -> str:
    return open_case(p, minor=True)


def ready(p: Pair, story: list[Move], *, proceedings: bool = False) -> str:
    case_id = minor_case(p) if "caregiver-confirmation" in [m.path for m in story] else open_case(p)
    extra = PRIVATE_BEFORE["referral"][2:] if proceedings else []
    play(p, case_id, extra + until(story, "transport"))
    return case_id


def consent(scopes: list[str]) -> dict[str, Any]:
    return {"scopes": scopes, "language": "en", "interpreter": False, "given_by": "person"}


def step_owner(p: Pair) -> Refusal:
    body = body_of(moves(p), "acknowledgement")
    return Refusal(p.xa, open_case(p), "acknowledgement", body)


def consent_required(p: Pair) -> Refusal:
    return Refusal(p.xa, open_case(p), "referral", {})


def data_minimisation(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, [Move(m.side, m.path, consent(["refer"])) if m.path == "consent" else m
                      for m in until(moves(p), "acknowledgement")])
    return Refusal(p.xa, case_id, "identity-verification-request", {})


def asylum_guard(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, until(moves(p), "referral") + PRIVATE_BEFORE["referral"][:1])
    return Refusal(p.xa, case_id, "referral", {})


def acceptance_required(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, until(moves(p), "acknowledgement"))
    return Refusal(p.xa, case_id, "return-decision", body_of(moves(p), "return-decision"))


def return_consent_required(p: Pair) -> Refusal:
    story = moves(p, scopes=["refer", "share_identity"])
    case_id = open_case(p)
    play(p, case_id, until(story, "risk-assessment"))
    return Refusal(p.xa, case_id, "transport", body_of(story, "transport"))


def risk_assessment_required(p: Pair) -> Refusal:
    body = {"level": "high", "factors": ["threats"], "valid_until": "2026-01-01"}
    return Refusal(p.xa, open_case(p), "risk-assessment", body)


def minor_safeguards(p: Pair) -> Refusal:
    case_id = open_case(p)  # an adult
    play(p, case_id, until(moves(p), "risk-assessment"))
    body = body_of(moves(p, minor=True), "best-interests-determination")
    return Refusal(p.xa, case_id, "best-interests-determination", body)


def proceedings_clearance(p: Pair) -> Refusal:
    story = moves(p)
    return Refusal(p.xa, ready(p, story, proceedings=True), "transport", body_of(story, "transport"))


def travel_document_valid(p: Pair) -> Refusal:
    soon = (p.clock.now() - timedelta(days=2)).date().isoformat()  # ends before the arrival
    story = moves(p, travel_document={"valid_until": soon})
    return Refusal(p.xa, ready(p, story), "transport", body_of(story, "transport"))


def reception_required(p: Pair) -> Refusal:
    late = (p.clock.now() + timedelta(days=40)).date().isoformat()
    story = moves(p, reception={"from_date": late})
    return Refusal(p.xa, ready(p, story), "transport", body_of(story, "transport"))


def consent_withdrawal_halts(p: Pair) -> Refusal:
    story = moves(p)
    case_id = ready(p, story)
    assert p.xa.step(case_id, "consent-withdrawal", {"scopes": ["return"]}).status_code == 200
    assert p.xa.state(case_id)["status"] == "on_hold"
    return Refusal(p.xa, case_id, "transport", body_of(story, "transport"))


def risk_downgrade_justified(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, until(moves(p, risk_assessment={"level": "critical", "safety_plan": None}),
                           "return-decision"))
    body = {**body_of(moves(p), "risk-assessment"), "level": "low",
            "justification": "The recruiter was arrested."}
    return Refusal(p.xa, case_id, "risk-assessment", body)  # a caseworker, not a supervisor


def fit_to_travel(p: Pair) -> Refusal:
    story = moves(p)
    body = {**body_of(story, "transport"), "fit_to_travel": False}
    return Refusal(p.xa, ready(p, story), "transport", body)


def reflection_period(p: Pair) -> Refusal:
    case_id = open_case(p, reflection_period_start=p.clock.now().date().isoformat())
    story = moves(p)
    play(p, case_id, until(story, "return-decision"))
    return Refusal(p.xa, case_id, "return-decision", body_of(story, "return-decision"))


def sequence(p: Pair) -> Refusal:
    return Refusal(p.xa, open_case(p), "reopening", {"reason": "Nothing to reopen."})


def closure_justified(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, until(moves(p), "shelter-admission"))
    return Refusal(p.xb, case_id, "closure", {"reason": "completed"})


def retrafficking_risk(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, at_risk_at_month_3(p.clock.now().date()).moves)
    return Refusal(p.xb, case_id, "closure", {"reason": "completed"})


def identity_confirmed(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, identity_not_confirmed(p.clock.now().date()).moves)
    return Refusal(p.xa, case_id, "transport", body_of(moves(p), "transport"))


def protection_incident(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, threatened_before_departure(p.clock.now().date()).moves)
    return Refusal(p.xa, case_id, "departure", body_of(moves(p), "departure"))


def non_punishment(p: Pair) -> Refusal:
    case_id = open_case(p)
    play(p, case_id, until(moves(p), "return-decision"))
    detained = {"kind": "detention", "status": "open", "linked_to_exploitation": True}
    assert p.xa.step(case_id, "penalty-matter", detained).status_code == 200
    return Refusal(p.xa, case_id, "return-decision", body_of(moves(p), "return-decision"),
                   "supervisor")


REFUSALS: dict[str, Callable[[Pair], Refusal]] = {
    "step-owner": step_owner, "consent-required": consent_required,
    "data-minimisation": data_minimisation, "asylum-guard": asylum_guard,
    "acceptance-required": acceptance_required,
    "return-consent-required": return_consent_required,
    "risk-assessment-required": risk_assessment_required, "minor-safeguards": minor_safeguards,
    "proceedings-clearance": proceedings_clearance,
    "travel-document-valid": travel_document_valid, "reception-required": reception_required,
    "consent-withdrawal-halts": consent_withdrawal_halts, "sequence": sequence,
    "closure-justified": closure_justified,
    "risk-downgrade-justified": risk_downgrade_justified, "fit-to-travel": fit_to_travel,
    "reflection-period": reflection_period, "retrafficking-risk": retrafficking_risk,
    "identity-confirmed": identity_confirmed, "protection-incident": protection_incident,
    "non-punishment": non_punishment,
}


def test_every_rule_has_a_refusal_below() -> None:
    assert set(REFUSALS) == set(RULES)


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_a_refused_step_names_its_rule_and_changes_nothing(nodes: Pair, code: str) -> None:
    refusal = REFUSALS[code](nodes)
    before = refusal.http.state(refusal.case_id)
    length = len(refusal.http.timeline(refusal.case_id))

    response = refusal.http.step(refusal.case_id, refusal.path, refusal.body, refusal.role)

    assert response.status_code == (403 if code == "step-owner" else 409), response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["rule"] == code and problem["status"] == response.status_code
    assert {"type", "title", "detail"} <= set(problem)
    after = refusal.http.state(refusal.case_id)
    assert after["version"] == before["version"]
    assert len(refusal.http.timeline(refusal.case_id)) == length
