"""How an agency's team works a case: who holds it, and the steps a caseworker asks a
supervisor to approve (four eyes). Nothing here crosses the border: these events are no
step of the process, so no message is made of them (services/contract/codec.is_exported);
they stay in the agency's own stream of the case, on the record for its auditors.

- Assignment (`CaseAssigned`): a supervisor gives the case to any user of the agency; a
  caseworker takes an unassigned case for themselves, nothing else (`assignment`).
- Approval requests (`ApprovalRequested`): a user asks for a step that needs a
  supervisor (`Step.supervised`: a supervisor-only step, or one whose rules let a
  supervisor decide, such as lowering a serious risk or a justified closure). While it is
  pending the case shows `approval-pending`, owed by the agency; one pending request per
  step (`approval-pending`).
- Decisions (`ApprovalDecided`): by a supervisor who is not the requester (`four-eyes`).
  An approval records the step itself too, as the requester's with the approver's
  authority (`Actor.approved_by`, on the event as `approved_by`), its rules checked at
  that moment; a rejection records only the decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.case import Approval, Case, CaseEvent
from events.rules import ApprovalPending, Assignment, FourEyes, InvalidField, Sequence
from events.step import Step
from events.values import Actor, Side

USER = r"^[^\x00-\x1f\x7f]{1,200}$"  # a user's `sub`, as the agency's identity provider says


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    assigned_to: str = Field(pattern=USER, description="the `sub` of the agency's user")


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    step: str = Field(min_length=1, max_length=64, description="the step's path")
    body: dict[str, Any] = Field(default_factory=dict, description="the step's body")
    reason: str = Field(min_length=1, max_length=4000, description="why it is asked for")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    decision: Literal["approved", "rejected"]
    note: str | None = Field(default=None, min_length=1, max_length=4000)


class CaseAssigned(CaseEvent):
    personal: ClassVar[tuple[str, ...]] = ()

    def change(self, case: Case) -> None:
        case.state.assigned_to = self.data["assigned_to"]


class ApprovalRequested(CaseEvent):
    # The step's body and the reason are free text of the agency's, under the case's key.
    personal: ClassVar[tuple[str, ...]] = ("body", "reason")

    def change(self, case: Case) -> None:
        d = self.data
        case.state.approvals[d["request_id"]] = Approval(
            step=d["step"], side=Side(d["side"]), requested_by=d["requested_by"],
            requested_at=self.timestamp)


class ApprovalDecided(CaseEvent):
    personal: ClassVar[tuple[str, ...]] = ("note",)

    def change(self, case: Case) -> None:
        case.state.approvals.pop(self.data["request_id"], None)


EVENTS: tuple[type[CaseEvent], ...] = (CaseAssigned, ApprovalRequested, ApprovalDecided)


def supervised(step: Step) -> bool:
    """Whether a caseworker may ask a supervisor for this step."""
    return step.supervisor_only or step.supervised


def _not_erased(case: Case, what: str) -> None:
    if case.state.erased:
        raise Sequence(f"the case's personal data was erased; nothing follows, not {what}")


def assign(case: Case, body: Assign, actor: Actor, at: datetime) -> None:
    """assignment: a supervisor assigns anyone; a caseworker takes an unassigned case
    for themselves."""
    _not_erased(case, "an assignment")
    if case.side_of(actor.agency) is None:
        raise Sequence(f"{actor.agency} is not an agency of this case")
    held = case.state.assigned_to
    if not actor.is_supervisor:
        if body.assigned_to != actor.sub:
            raise Assignment("a caseworker assigns a case only to themselves; "
                             "a supervisor assigns it to others")
        if held is not None and held != actor.sub:
            raise Assignment(f"the case is assigned to {held}; a supervisor reassigns it")
    if held == body.assigned_to:
        raise Assignment(f"the case is already assigned to {held}")
    case.follow_with(CaseAssigned, {"assigned_to": body.assigned_to}, actor, at)


def request_approval(case: Case, step: Step, body: Mapping[str, Any], reason: str,
                     actor: Actor, at: datetime) -> str:
    """Ask a supervisor for `step` with `body`: the request's id. The caller has checked
    that the step as asked passes its rules now (with a supervisor's authority)."""
    _not_erased(case, "an approval request")
    if not supervised(step):
        raise InvalidField("step", f"{step.path} needs no supervisor: record it directly")
    side = case.side_of(actor.agency)
    if side is None:
        raise Sequence(f"{actor.agency} is not an agency of this case")
    if any(a.step == step.path and a.side is side for a in case.state.approvals.values()):
        raise ApprovalPending(f"a request for {step.path} is already pending")
    request_id = str(uuid.uuid4())
    case.follow_with(ApprovalRequested, {
        "request_id": request_id, "step": step.path, "side": side.value,
        "requested_by": actor.sub, "body": dict(body), "reason": reason,
    }, actor, at, personal=ApprovalRequested.personal)
    return request_id


def pending(case: Case, request_id: str) -> Approval:
    found = case.state.approvals.get(request_id)
    if found is None:
        raise Sequence(f"no pending approval request {request_id}")
    return found


def decide(case: Case, request_id: str, decision: Decision, actor: Actor,
           at: datetime) -> Approval:
    """four-eyes: a supervisor other than the requester decides; the request, decided."""
    _not_erased(case, "a decision")
    request = pending(case, request_id)
    if actor.sub == request.requested_by:
        raise FourEyes("the requester cannot decide their own request")
    if not actor.is_supervisor:
        raise FourEyes("a supervisor decides an approval request")
    data: dict[str, Any] = {"request_id": request_id, "step": request.step,
                            "decision": decision.decision, "requested_by": request.requested_by}
    if decision.note is not None:
        data["note"] = decision.note
    case.follow_with(ApprovalDecided, data, actor, at, personal=ApprovalDecided.personal)
    return request


def requester(case: Case, request: Approval, approver: Actor) -> Actor:
    """Who records an approved step: the requester, with the approver's authority."""
    return Actor(case.agency(request.side), request.requested_by, approved_by=approver.sub)


def asked(timeline: Iterable[CaseEvent], request_id: str) -> dict[str, Any]:
    """What a request asked for (`body`, `reason`), from the case's stream: it is personal
    data, which the case's state and the read models do not keep."""
    for event in reversed(list(timeline)):
        if isinstance(event, ApprovalRequested) and event.data.get("request_id") == request_id:
            return {"body": event.data["body"], "reason": event.data["reason"]}
    raise Sequence(f"no approval request {request_id}")


def asked_body(timeline: Iterable[CaseEvent], request_id: str) -> dict[str, Any]:
    """The step's body a request asked for, to be recorded on its approval."""
    body = asked(timeline, request_id)["body"]
    if not isinstance(body, dict):  # "[erased]"
        raise Sequence("the request's body was erased")
    return body
