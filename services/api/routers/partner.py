"""What a partner agency's node reads here: a case's chain view, hashes only, for the
cross-check (services/anchors). It answers only the node of the case's other agency,
with a token that node signed with a key valid now, for this case, used once
(services/anchors/partner.py)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials

from services.anchors.partner import NotPartner, SeenTokens, WrongCase, partner_of
from services.api import openapi
from services.api.auth import Unauthorized
from services.api.deps import NodeDep, bearer
from services.api.models import ChainView
from services.api.problems import Problem
from services.application import CaseNotFound

router = APIRouter(prefix="/v1/partner", tags=["partner"])


@router.get("/chain", response_model=ChainView, responses=openapi.problems(401, 403, 404, 422))
def chain(
    node: NodeDep, case: Annotated[UUID, Query(description="the case id")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ChainView:
    if credentials is None or node.trust is None:
        raise Unauthorized("a partner node's token is required")
    directory = node.trust()  # unreadable: 503 (services/api/problems.py)
    try:
        partner = partner_of(credentials.credentials, node.agency, case, directory,
                             SeenTokens(node.tables))
    except NotPartner as refused:
        raise Unauthorized(f"not a partner node's token: {refused}") from None
    except WrongCase as refused:
        raise Problem(403, str(refused), slug="forbidden") from None
    if not (directory.corridor(partner, node.agency) or directory.corridor(node.agency, partner)):
        raise Problem(403, f"{partner} is on no corridor with {node.agency}", slug="forbidden")
    audit = node.audit()
    events = audit.events(case)
    if not events:
        raise CaseNotFound(str(case))
    state = node.app.case(case).state
    if partner not in (state.referring, state.receiving):
        raise CaseNotFound("not a case of this partner")
    return ChainView.model_validate(audit.view(case, partner))
