"""Step 8: each side assesses the risk of return on its own side of the border."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from events.case import Assessment, Case, CaseEvent
from events.rules import RiskAssessmentRequired
from events.step import Body, Owner, Step
from events.values import Actor, RiskLevel, Side


class RiskAssessment(Body):
    level: RiskLevel
    factors: list[str] = Field(default_factory=list, max_length=50)
    safety_plan: str | None = Field(default=None, min_length=1, max_length=4000)
    valid_until: date


class RiskAssessed(CaseEvent):
    def change(self, case: Case) -> None:
        d = self.data
        case.state.risk[Side(d["side"])] = Assessment(
            level=RiskLevel(d["level"]),
            valid_until=date.fromisoformat(d["valid_until"]),
            safety_plan=d.get("safety_plan"),
        )


def check_assessment(case: Case, body: RiskAssessment, actor: Actor, at: datetime) -> None:
    if body.valid_until < at.date():
        raise RiskAssessmentRequired(f"an assessment valid until {body.valid_until} is past")
    if body.level is RiskLevel.HIGH and not body.safety_plan:
        raise RiskAssessmentRequired("a high risk needs a safety plan")


STEPS = [
    Step("risk-assessment", RiskAssessed, Owner.EITHER, RiskAssessment, check_assessment,
         sided=True),
]
