"""Hand-offs: persons in transit, and arrivals not confirmed in time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from projections.board import BoardFilters
from services.api import board as store_board
from services.api import openapi
from services.api.deps import NodeDep, Reader
from services.api.models import Handoffs

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"])


@router.get("", response_model=Handoffs, responses=openapi.READ)
def in_transit(
    who: Reader, node: NodeDep, overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> Handoffs:
    if who.agency != node.agency:  # another agency's token sees no case
        return Handoffs(items=[], total=0, limit=limit, offset=offset)
    query = BoardFilters(overdue=overdue, limit=limit, offset=offset)
    return store_board.handoffs(node, query)
