"""The auditor's check of this node's store: every case's hash chain."""

from __future__ import annotations

from fastapi import APIRouter

from events.audit import verify_chain
from services.api import openapi
from services.api.deps import Auditor, NodeDep
from services.api.models import ChainBreak, Verification

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/verify", response_model=Verification, responses=openapi.problems(401, 403))
def verify(who: Auditor, node: NodeDep) -> Verification:
    breaks, cases, events = [], 0, 0
    for case_id in node.app.case_ids():
        timeline = node.app.timeline(case_id)  # read once: counted and verified
        cases, events = cases + 1, events + len(timeline)
        breaks += [ChainBreak(case_id=case_id, version=b.version, type=b.type, reason=b.reason)
                   for b in verify_chain(timeline)]
    return Verification(ok=not breaks, cases=cases, events=events, breaks=breaks)
