"""What a partner agency's node reads here: a case's chain view, hashes only, for the
cross-check (services/anchors). It answers only the node of the case's other agency,
with a token that node signed with a key valid now, for this case, used once
(services/anchors/partner.py)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.api.deps import NodeDep
from services.api.http import openapi
from services.api.models import ChainView
from services.api.policy import PartnerNode, check_partner_case
from services.application import CaseNotFound

router = APIRouter(prefix="/v1/partner", tags=["partner"])


@router.get("/chain", response_model=ChainView, responses=openapi.problems(401, 403, 404, 422))
def chain(
    node: NodeDep, case: Annotated[UUID, Query(description="the case id")],
    partner: PartnerNode,
) -> ChainView:
    audit = node.audit()
    events = audit.events(case)
    if not events:
        raise CaseNotFound(str(case))
    state = node.app.case(case).state
    check_partner_case(partner, state.referring, state.receiving)
    return ChainView.model_validate(audit.view(case, partner))
