"""Step 8: each side assesses the risk of return on its own side of the border.

A side that lowers its own `high` or `critical` finding needs a supervisor and a
justification (`risk-downgrade-justified`); the justification stays with the agency.
The safety plan's text stays too: the partner learns only that a plan is in place
(`safety_plan_in_place`), all its transport readiness needs. The risk factors cross
under consent scope `share_identity`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from events.case import Assessment, Case, CaseEvent
from events.rules import RiskAssessmentRequired, RiskDowngradeJustified
from events.step import Body, Owner, Step
from events.values import Actor, RiskLevel, Scope, Side


class RiskAssessment(Body):
    level: RiskLevel
    factors: list[str] = Field(default_factory=list, max_length=50)
    safety_plan: str | None = Field(default=None, min_length=1, max_length=4000)
    valid_until: date
    justification: str | None = Field(default=None, min_length=1, max_length=4000)


class RiskAssessed(CaseEvent):
    def change(self, case: Case) -> None:
        d = self.data
        assessment = case.state.risk[Side(d["side"])] = Assessment(
            level=RiskLevel(d["level"]),
            valid_until=date.fromisoformat(d["valid_until"]),
            # The side's own event holds the plan; a partner's, only whether there is one.
            safety_plan_in_place=bool(d.get("safety_plan") or d.get("safety_plan_in_place")),
        )
        if assessment.safety_plan_in_place:  # an escalation of this side's is answered
            answered(case, Side(d["side"]))


def answered(case: Case, side: Side) -> None:
    """A new assessment with a safety plan answers the escalations its side owes."""
    s = case.state
    if side is Side.RECEIVING:
        s.retrafficking_risk = False
    if s.protection_incident_owed_by is side:
        s.protection_incident = s.protection_incident_owed_by = None


def check_assessment(case: Case, body: RiskAssessment, actor: Actor, at: datetime) -> None:
    if body.valid_until < at.date():
        raise RiskAssessmentRequired(f"an assessment valid until {body.valid_until} is past")
    if body.level is RiskLevel.HIGH and not body.safety_plan:
        raise RiskAssessmentRequired("a high risk needs a safety plan")
    check_downgrade(case, body, actor)


SERIOUS = (RiskLevel.HIGH, RiskLevel.CRITICAL)
ORDER = list(RiskLevel)


def check_downgrade(case: Case, body: RiskAssessment, actor: Actor) -> None:
    side = case.side_of(actor.agency)
    current = case.state.risk.get(side) if side is not None else None
    if current is None or current.level not in SERIOUS:
        return
    if ORDER.index(body.level) >= ORDER.index(current.level):
        return
    if not (actor.is_supervisor and body.justification):
        raise RiskDowngradeJustified(
            f"lowering the {current.level.value} risk to {body.level.value} needs a "
            "supervisor and a justification"
        )


def for_partner(data: dict[str, Any]) -> dict[str, Any]:
    """The plan's text stays home (local-only); whether there is one crosses."""
    return {**data, "safety_plan_in_place": bool(data.get("safety_plan"))}


STEPS = [
    Step("risk-assessment", RiskAssessed, Owner.EITHER, RiskAssessment, check_assessment,
         sided=True, supervised=True, local_only=("safety_plan", "justification"),
         protected={Scope.SHARE_IDENTITY: ("factors",)}, for_partner=for_partner),
]
