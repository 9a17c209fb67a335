"""The agency's casework, never crossing: who holds a case, and the steps a caseworker
asks a supervisor to approve (events/casework.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from events.case import Case
from events.casework import ApprovalRequest, Assign, Decision, supervised
from events.step import refusals
from events.steps import STEPS
from projections.case_state import decode_state
from services.api.deps import (
    IDEMPOTENT,
    Limit,
    MetricsDep,
    NodeDep,
    Offset,
    Purpose,
    only_parameters,
)
from services.api.http import openapi
from services.api.http.problems import Problem
from services.api.models import ApprovalRequested, Approvals, ApprovalView, Decided, Recorded
from services.api.node import Node
from services.api.policy import (
    ApprovalRequester,
    Approver,
    Assigner,
    check_assignment,
)
from services.api.views import recorded

router = APIRouter(tags=["casework"])
RequestId = Annotated[UUID, Path(description="the approval request's id")]
# What a request or an approval can be refused with: the casework's rules, and those of
# every step a supervisor may be asked for (checked when asked, and again at the decision).
ASKED = sorted(set().union(*(refusals(s) for s in STEPS.values() if supervised(s))))


@router.post("/v1/cases/{case_id}/assignment", response_model=Recorded,
             dependencies=IDEMPOTENT, responses=openapi.problems(
                 400, 401, 403, 404, 409, 422, rules=["assignment", "sequence"]))
def assign(case_id: UUID, body: Assign, who: Assigner, node: NodeDep,
           response: Response) -> Recorded:
    """Assign the case to a user of the agency: a supervisor, anyone; a caseworker, an
    unassigned case to themselves. Recorded in the case's stream; never crosses."""
    check_assignment(who, body.assigned_to)
    case = node.app.assign(case_id, body, who.actor())
    response.headers["ETag"] = f'"{case.version}"'
    return recorded(case, node.clock.now())


@router.post("/v1/cases/{case_id}/approval-requests", status_code=201,
             response_model=ApprovalRequested, dependencies=IDEMPOTENT,
             responses=openapi.problems(400, 401, 403, 404, 409, 422, rules=[
                 "approval-pending", *ASKED]))
def request_approval(case_id: UUID, body: ApprovalRequest, who: ApprovalRequester,
                     node: NodeDep, response: Response) -> ApprovalRequested:
    """Ask a supervisor for a step that needs one (four eyes). The step as asked must pass
    its rules now, with a supervisor's authority; it is checked again at the decision."""
    case, request_id = node.app.request_approval(case_id, body, who.actor())
    response.headers["Location"] = f"/v1/approvals/{request_id}"
    response.headers["ETag"] = f'"{case.version}"'
    return ApprovalRequested(request_id=UUID(request_id), case_id=case.id,
                             version=case.version, step=body.step)


@router.get("/v1/approvals", response_model=Approvals, responses=openapi.READ,
            dependencies=[only_parameters("status", "limit", "offset")])
def approvals(who: Approver, node: NodeDep, purpose: Purpose,
              status: Annotated[Literal["pending"], Query(
                  description="only pending requests are listed")] = "pending",
              limit: Limit = 50, offset: Offset = 0) -> Approvals:
    """The requests awaiting a supervisor's decision, the oldest first, with what each
    asks for and why: a read of each case's personal data, in the access log."""
    items = _pending(node)
    page = items[offset:offset + limit]
    for case_id in dict.fromkeys(item.case_id for item in page):
        node.access_log.record(case_id, who.agency, who.sub, "approvals", purpose,
                               node.clock.now())
    page = [item.model_copy(update=_what(node, item)) for item in page]
    return Approvals(items=page, total=len(items), limit=limit, offset=offset)


def _what(node: Node, item: ApprovalView) -> dict[str, Any]:
    asked = node.app.asked(item.case_id, str(item.id))
    body = asked["body"] if isinstance(asked["body"], dict) else None
    reason = asked["reason"] if isinstance(asked["reason"], str) else None
    return {"body": body, "reason": reason}


@router.post("/v1/approvals/{request_id}/decision", response_model=Decided,
             dependencies=IDEMPOTENT, responses=openapi.problems(
                 400, 401, 403, 404, 409, 412, 422, rules=[
                     "four-eyes", *ASKED]))
def decide(request_id: RequestId, body: Decision, who: Approver, node: NodeDep,
           metrics: MetricsDep, response: Response) -> Decided:
    """Approve or reject a request. Approved: the step is recorded as the requester's,
    with the approver as `approved_by`, its rules checked now (a refusal names the rule
    and leaves the request pending). Rejected: only the decision is recorded."""
    case_id = _case_of(node, str(request_id))
    case, request = node.app.decide_approval(case_id, str(request_id), body, who.actor())
    if body.decision == "approved":
        metrics.steps.labels(_event_name(case)).inc()
    response.headers["ETag"] = f'"{case.version}"'
    return Decided(request_id=request_id, case_id=case.id, version=case.version,
                   step=request.step, decision=body.decision,
                   status=recorded(case, node.clock.now()).status)


def _event_name(case: Case) -> str:
    return str(case.pending_events[-1].__class__.__name__) if case.pending_events else ""


def _pending(node: Node) -> list[ApprovalView]:
    node.read_models.refresh()
    items = []
    for doc in node.read_models.awaiting_approval():
        state = decode_state(doc["state"])
        for request_id, a in state.approvals.items():
            items.append(ApprovalView(
                id=UUID(request_id), case_id=UUID(doc["id"]), step=a.step,
                requested_by=a.requested_by, requested_at=a.requested_at,
                status="pending", assigned_to=state.assigned_to))
    return sorted(items, key=lambda i: (i.requested_at, str(i.id)))


def _case_of(node: Node, request_id: str) -> UUID:
    for item in _pending(node):
        if str(item.id) == request_id:
            return item.case_id
    raise Problem(404, f"no pending approval request {request_id}", slug="not-found")
