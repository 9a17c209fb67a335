"""Step 21: closing and reopening, by whoever holds the current phase."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from events.case import Case, CaseEvent
from events.rules import ClosureJustified
from events.step import Body, Owner, Step
from events.steps.referral import Reason
from events.values import Actor, ClosureReason


class Closure(Body):
    reason: ClosureReason
    justification: str | None = Field(default=None, min_length=1, max_length=4000)


class CaseClosed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.phase_owner_at_closure = case.phase_owner()
        case.state.closed = True
        case.state.closure_reason = self.data["reason"]


class CaseReopened(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.closed = False
        case.state.closure_reason = None
        case.state.phase_owner_at_closure = None


def check_closure(case: Case, body: Closure, actor: Actor, at: datetime) -> None:
    """closure-justified: a person who arrived is not closed without a plan or a reason."""
    if case.state.arrived_at is None or case.state.plan_services is not None:
        return
    if not (actor.is_supervisor and body.justification):
        raise ClosureJustified(
            "the person has arrived without an agreed reintegration plan: "
            "closing needs a supervisor's justification"
        )


STEPS = [
    Step("closure", CaseClosed, Owner.PHASE, Closure, check_closure,
         local_only=("justification",)),
    Step("reopening", CaseReopened, Owner.PHASE, Reason, reopens=True),
]
