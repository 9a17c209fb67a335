"""A case transferred to another receiving agency (services/api/transfer.py)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from services.api.deps import IDEMPOTENT, MetricsDep, NodeDep
from services.api.http import openapi
from services.api.models import Recorded
from services.api.policy import Transferrer
from services.api.transfer import Transfer, transfer
from services.api.views import recorded

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("/{case_id}/transfer", status_code=201, response_model=Recorded,
             dependencies=IDEMPOTENT, responses=openapi.problems(
                 400, 401, 403, 404, 409, 413, 422,
                 rules=["consent-required", "sequence", "closure-justified", "asylum-guard"]))
def transfer_case(case_id: UUID, body: Transfer, who: Transferrer, node: NodeDep,
                  metrics: MetricsDep, response: Response) -> Recorded:
    """Close the case `transferred` and open a new one towards `to_agency`: 201 with the
    new case (`Location`)."""
    new = transfer(node, case_id, body, who.actor())
    metrics.steps.labels("CaseTransferred").inc()
    response.headers["Location"] = f"/v1/cases/{new.id}"
    response.headers["ETag"] = f'"{new.version}"'
    return recorded(new, node.clock.now())
