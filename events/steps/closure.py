"""Step 21: closing and reopening, by whoever holds the current phase.

A closure as `completed` means the work was done: the person home, a plan agreed, a
service delivered and every follow-up due so far recorded; otherwise a supervisor
justifies it. A closure as `protection_granted` crosses the border as `other`, without
its justification: the country of origin never learns that protection was sought.
Reopening a declined case clears the decline, so the referral can be sent again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from events.case import Case, CaseEvent
from events.deadlines import MONTH, Deadlines
from events.rules import ClosureJustified, RetraffickingRisk, Sequence
from events.step import Body, Owner, Step
from events.steps.referral import Reason
from events.steps.reintegration import home_since
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
        s = case.state
        s.closed = False
        s.closure_reason = None
        s.phase_owner_at_closure = None
        if s.declined_at is not None:  # a new referral may follow
            s.declined_at = s.referred_at = s.acknowledged_at = None


def check_closure(case: Case, body: Closure, actor: Actor, at: datetime) -> None:
    """closure-justified: nobody is closed as done, or after arrival without a plan,
    unless a supervisor justifies it."""
    if body.reason is ClosureReason.PROTECTION_GRANTED and not case.state.protection_granted:
        raise Sequence("no protection was granted in this case")
    if body.reason is ClosureReason.COMPLETED and case.state.retrafficking_risk:
        raise RetraffickingRisk("a follow-up reported a risk of re-trafficking: the receiving "
                                "agency's new risk assessment with a safety plan comes first")
    unmet = [*_without_plan(case), *(_not_completed(case, at)
                                     if body.reason is ClosureReason.COMPLETED else [])]
    if unmet and not (actor.is_supervisor and body.justification):
        raise ClosureJustified(f"{'; '.join(unmet)}: closing needs a supervisor's justification")


def _without_plan(case: Case) -> list[str]:
    s = case.state
    if s.arrived_at is not None and s.plan_services is None:
        return ["the person has arrived without an agreed reintegration plan"]
    return []


def _not_completed(case: Case, at: datetime) -> list[str]:
    s, since, unmet = case.state, home_since(case), []
    if since is None:
        return ["the case is not completed: the person is not home"]
    if s.plan_services is None and s.arrived_at is None:
        unmet.append("no agreed reintegration plan")
    if s.services_delivered == 0:
        unmet.append("no service delivered")
    due = [m for m in Deadlines().follow_up_months if since + m * MONTH <= at]
    missing = [m for m in due if m not in s.follow_ups_counted]
    if missing:
        unmet.append(f"follow-ups due but not recorded: month {', '.join(map(str, missing))}")
    return unmet


def for_partner(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("reason") == ClosureReason.PROTECTION_GRANTED.value:
        return {"reason": ClosureReason.OTHER.value}
    return data


STEPS = [
    Step("closure", CaseClosed, Owner.PHASE, Closure, check_closure, supervised=True,
         local_only=("justification",), for_partner=for_partner),
    Step("reopening", CaseReopened, Owner.PHASE, Reason, reopens=True,
         local_only=("reason",)),
]
