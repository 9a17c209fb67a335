"""The status board and the hand-offs, read straight from the store.

Every case id in the notification log is loaded and summarised: fine for one
agency's caseload at first, and kept behind these two functions so that the
read models (projections) can answer them instead without touching a route.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

from events.case import Case
from events.deadlines import clocks
from events.values import Side, Status
from services.api.models import Board, Handoff, Handoffs
from services.api.views import partner, side_of, summary
from services.node import Node

PAGE = 10  # the notification log's section size


@dataclass(frozen=True)
class BoardQuery:
    status: Status | None = None
    overdue: bool | None = None
    partner: str | None = None
    limit: int = 50
    offset: int = 0


def case_ids(node: Node) -> Iterator[UUID]:
    """Each case of the store once, in the order it was first recorded."""
    seen: set[UUID] = set()
    start = 1
    while True:
        notifications = node.app.notification_log.select(start, PAGE)
        for notification in notifications:
            case_id = UUID(str(notification.originator_id))
            if case_id not in seen:
                seen.add(case_id)
                yield case_id
        if len(notifications) < PAGE:
            return
        start = notifications[-1].id + 1


def cases(node: Node) -> Iterator[Case]:
    for case_id in case_ids(node):
        yield node.app.case(case_id)


def board(node: Node, query: BoardQuery) -> Board:
    now, agency = node.clock.now(), node.agency
    items = [summary(case, agency, now, node.deadlines(case)) for case in cases(node)]
    items = [
        item for item in items
        if (query.status is None or item.status is query.status)
        and (query.overdue is None or bool(item.overdue) is query.overdue)
        and (query.partner is None or item.partner == query.partner)
    ]
    page = items[query.offset:query.offset + query.limit]
    return Board(items=page, total=len(items), limit=query.limit, offset=query.offset)


def handoffs(node: Node, query: BoardQuery) -> Handoffs:
    """Persons who departed and whose arrival is not confirmed; overdue ones first."""
    now, agency, items = node.clock.now(), node.agency, []
    for case in cases(node):
        s = case.state
        if s.departed_at is None or s.arrived_at is not None or s.closed:
            continue
        clock = next((c for c in clocks(case, node.deadlines(case))
                      if c.name == "confirm arrival"), None)
        items.append(Handoff(
            id=case.id, side=side_of(case, agency), partner=partner(case, agency),
            departed_at=s.departed_at,
            expected_arrival=s.transport.arrival_at if s.transport else None,
            confirm_by=clock.due_at if clock else None, owed_by=case.agency(Side.RECEIVING),
            overdue=bool(clock and clock.overdue(now)),
        ))
    items = [i for i in items if query.overdue is None or i.overdue is query.overdue]
    items.sort(key=lambda item: not item.overdue)
    page = items[query.offset:query.offset + query.limit]
    return Handoffs(items=page, total=len(items), limit=query.limit, offset=query.offset)
