"""The status board and the hand-offs, read from the node's projections.

Each query first lets the projections catch up with the store, so a caseworker
sees the step they just recorded.
"""

from __future__ import annotations

from projections.board import BoardFilters
from services.api.models import Board, CaseSummary, Handoff, Handoffs
from services.api.node import Node


def board(node: Node, query: BoardFilters) -> Board:
    node.read_models.refresh()
    page = node.read_models.board(query, node.clock.now())
    items = [CaseSummary.model_validate(item.as_dict()) for item in page.items]
    return Board(items=items, total=page.total, limit=query.limit, offset=query.offset)


def handoffs(node: Node, query: BoardFilters) -> Handoffs:
    """Persons who departed and whose arrival is not confirmed; overdue ones first."""
    node.read_models.refresh()
    in_transit = node.read_models.handoffs(node.clock.now())
    items = [Handoff.model_validate(i.as_dict()) for i in in_transit
             if query.overdue is None or i.overdue is query.overdue]
    page = items[query.offset:query.offset + query.limit]
    return Handoffs(items=page, total=len(items), limit=query.limit, offset=query.offset)
