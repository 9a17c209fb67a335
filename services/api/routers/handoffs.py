"""Hand-offs: persons in transit, and arrivals not confirmed in time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from projections.handoffs import HandoffFilters
from services.api import board as store_board
from services.api import openapi
from services.api.deps import (
    HANDOFF_SORT,
    HandoffSort,
    Limit,
    NodeDep,
    Offset,
    Partner,
    Reader,
    only_parameters,
)
from services.api.models import Handoffs

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"])


@router.get("", response_model=Handoffs, responses=openapi.READ,
            dependencies=[only_parameters("overdue", "partner", "sort", "limit", "offset")])
def in_transit(
    who: Reader, node: NodeDep,
    overdue: Annotated[bool | None, Query(description="arrival not confirmed in time")] = None,
    partner: Partner = None,
    sort: Annotated[HandoffSort, Query(description=HANDOFF_SORT)] = "overdue",
    limit: Limit = 50, offset: Offset = 0,
) -> Handoffs:
    if who.agency != node.agency:  # another agency's token sees no case
        return Handoffs(items=[], total=0, limit=limit, offset=offset)
    query = HandoffFilters(overdue, partner, limit, offset, sort)
    return store_board.handoffs(node, query)
