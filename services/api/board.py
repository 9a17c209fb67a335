"""The status board and the hand-offs, read from the node's projections.

Each query first lets the projections catch up with the store, so a caseworker
sees the step they just recorded; the read store then finds the page (filters,
order, paging) by its indexes.
"""

from __future__ import annotations

from projections.board import BoardFilters
from projections.handoffs import HandoffFilters
from services.api.models import Board, CaseSummary, Handoff, Handoffs
from services.api.node import Node


def board_page(node: Node, query: BoardFilters) -> Board:
    """The page of the status board that `query` asks for."""
    node.read_models.refresh()
    page = node.read_models.board(query, node.clock.now())
    items = [CaseSummary.model_validate(item.as_dict()) for item in page.items]
    return Board(items=items, total=page.total, limit=query.limit, offset=query.offset,
                 undelivered=node.undelivered())


def handoffs_page(node: Node, query: HandoffFilters) -> Handoffs:
    """Persons who departed and whose arrival is not confirmed; overdue ones first."""
    node.read_models.refresh()
    page, total = node.read_models.handoff_page(query, node.clock.now())
    items = [Handoff.model_validate(i.as_dict()) for i in page]
    return Handoffs(items=items, total=total, limit=query.limit, offset=query.offset)
