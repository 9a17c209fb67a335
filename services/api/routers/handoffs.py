"""Hand-offs: persons in transit, and arrivals not confirmed in time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from projections.handoffs import HandoffFilters
from services.api.board import handoffs_page
from services.api.deps import (
    HANDOFF_SORT,
    HandoffSort,
    Limit,
    NodeDep,
    Offset,
    Partner,
    only_parameters,
)
from services.api.http import openapi
from services.api.models import Handoffs
from services.api.policy import ListReader, sees_cases_here

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"])


@router.get("", response_model=Handoffs, responses=openapi.READ,
            dependencies=[only_parameters("overdue", "partner", "sort", "limit", "offset")])
def in_transit(
    who: ListReader, node: NodeDep,
    overdue: Annotated[bool | None, Query(description="arrival not confirmed in time")] = None,
    partner: Partner = None,
    sort: Annotated[HandoffSort, Query(description=HANDOFF_SORT)] = "overdue",
    limit: Limit = 50, offset: Offset = 0,
) -> Handoffs:
    if not sees_cases_here(who, node.agency):
        return Handoffs(items=[], total=0, limit=limit, offset=offset)
    query = HandoffFilters(overdue, partner, limit, offset, sort)
    return handoffs_page(node, query)
