"""The auditor's routes: this node's store checked against the checkpoints both agencies
signed, one case compared with the partner's node, and who read a case's personal data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.anchors.remote import PartnerUnreachable, fetch_chain
from services.api.deps import NodeDep
from services.api.http import openapi
from services.api.http.problems import Problem
from services.api.models import (
    AccessEntry,
    AccessView,
    ChainBreak,
    CrossCheck,
    DivergenceView,
    Verification,
)
from services.api.policy import Auditor
from services.application import CaseNotFound

router = APIRouter(prefix="/v1/audit", tags=["audit"])
CaseQuery = Annotated[UUID, Query(description="the case id")]


@router.get("/verify", response_model=Verification, responses=openapi.problems(401, 403))
def verify(who: Auditor, node: NodeDep) -> Verification:
    breaks, cases, events = [], 0, 0
    for audited in node.audit().cases():
        cases, events = cases + 1, events + audited.events
        breaks += [ChainBreak(case_id=f.case_id, version=f.version, type=f.type,
                              reason=f.reason, fault=f.kind) for f in audited.faults]
    return Verification(ok=not breaks, cases=cases, events=events, breaks=breaks)


@router.get("/cross-check", response_model=CrossCheck,
            responses=openapi.problems(401, 403, 404, 422, 502))
def cross_check(who: Auditor, node: NodeDep, case: CaseQuery) -> CrossCheck:
    audit = node.audit()
    partner = audit.partner_of(case)
    url = node.trust().url(partner) if node.trust is not None else None
    if url is None or node.signing is None:
        raise Problem(502, f"the trust directory lists no address for {partner}",
                      slug="partner-unreachable")
    try:
        # The token expires by the wall clock, as every token does.
        theirs = fetch_chain(url, case, node.signing, partner, datetime.now(UTC))
    except PartnerUnreachable as error:
        raise Problem(502, str(error), slug="partner-unreachable") from None
    found = [DivergenceView(agency=d.agency, kind=d.kind, where=d.where, detail=d.detail)
             for d in audit.against(case, partner, theirs)]
    return CrossCheck(case_id=case, partner=partner, ok=not found,
                      first=found[0] if found else None, divergences=found)


@router.get("/access", response_model=AccessView, responses=openapi.problems(401, 403, 404, 422))
def access(who: Auditor, node: NodeDep, case: CaseQuery) -> AccessView:
    """Who read the case's personal data, when and why (the access log)."""
    entries = node.access_log.of_case(case)
    if not entries and not audit_knows(node, case):
        raise CaseNotFound(str(case))
    return AccessView(case_id=case, entries=[
        AccessEntry(at=datetime.fromisoformat(e.at), agency=e.agency, sub=e.sub, what=e.what,
                    purpose=e.purpose, purpose_erased=e.purpose_erased)
        for e in entries])


def audit_knows(node: NodeDep, case: UUID) -> bool:
    return bool(node.audit().events(case))
