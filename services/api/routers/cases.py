"""Cases: open one, read its state (now or as it was), its timeline, the board."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from events.case import Case
from events.casework import USER
from events.steps import OpenCase
from events.values import Status
from projections.board import BoardFilters
from services.api.board import board_page
from services.api.corridors import check_corridor
from services.api.deps import (
    BOARD_SORT,
    IDEMPOTENT,
    BoardSort,
    Limit,
    MetricsDep,
    NodeDep,
    Offset,
    Partner,
    Purpose,
    only_parameters,
)
from services.api.http import openapi
from services.api.http.problems import Problem
from services.api.http.sanity import check_dates
from services.api.models import Board, CaseView, Recorded, Timeline
from services.api.node import Node
from services.api.policy import CaseReader, ListReader, Opener, sees_cases_here, sees_person
from services.api.views import case_view, recorded, timeline_entry
from services.application import CaseNotFound

router = APIRouter(prefix="/v1/cases", tags=["cases"])
AsOf = Annotated[AwareDatetime | None, Query(
    description="RFC 3339 with offset: the case as this agency knew it at that moment")]
AssignedTo = Annotated[str | None, Query(
    pattern=USER, description="the cases assigned to this user (`sub`); `me`: to the caller")]
MAX_VERSION = 2**31 - 1  # far past any case, and within every store's integer column


@router.post("", status_code=201, response_model=Recorded, dependencies=IDEMPOTENT,
             responses=openapi.OPEN)
def open_case(body: OpenCase, who: Opener, node: NodeDep, metrics: MetricsDep,
              response: Response) -> Recorded:
    check_dates(body)
    check_corridor(node.settings, body.receiving_agency)
    corridor = node.read_models.deadlines_for(who.agency, body.receiving_agency)
    case = node.app.open_case(body, who.actor(), corridor)
    metrics.steps.labels("CaseOpened").inc()
    response.headers["Location"] = f"/v1/cases/{case.id}"
    response.headers["ETag"] = f'"{case.version}"'
    return recorded(case, node.clock.now())


@router.get("", response_model=Board, responses=openapi.READ,
            dependencies=[only_parameters("status", "open", "overdue", "partner", "sort",
                                          "assigned_to", "limit", "offset")])
def status_board(
    who: ListReader, node: NodeDep, status: Status | None = None,
    open: Annotated[bool | None, Query(description="neither closed nor declined")] = None,
    overdue: Annotated[bool | None, Query(description="with a clock run out")] = None,
    partner: Partner = None,
    sort: Annotated[BoardSort, Query(description=BOARD_SORT)] = "urgent",
    assigned_to: AssignedTo = None,
    limit: Limit = 50, offset: Offset = 0,
) -> Board:
    if not sees_cases_here(who, node.agency):
        return Board(items=[], total=0, limit=limit, offset=offset)
    assignee = who.sub if assigned_to == "me" else assigned_to
    query = BoardFilters(status, overdue, partner, limit, offset, open, sort, assignee)
    return board_page(node, query)


@router.get("/{case_id}", response_model=CaseView, responses=openapi.CASE_READ)
def read_case(
    case_id: UUID, who: CaseReader, node: NodeDep, purpose: Purpose, response: Response,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    at: AwareDatetime | None = None,
    as_of: AsOf = None,
) -> CaseView:
    if at is not None and as_of is not None:
        raise Problem(422, "ask for `as_of` or `at`, not both", slug="invalid")
    case, now = _as_of(node, case_id, version, as_of or at)
    with_person = sees_person(who)
    if with_person:
        node.access_log.record(case_id, who.agency, who.sub, "case", purpose, node.clock.now())
    response.headers["ETag"] = f'"{case.version}"'
    return case_view(case, node.agency, now, node.deadlines(case), with_person)


def _as_of(node: Node, case_id: UUID, version: int | None,
           at: datetime | None) -> tuple[Case, datetime]:
    """The case now, at a version it had, or as it stood at a time."""
    if version is not None and at is not None:
        raise Problem(422, "ask for a version or a time, not both", slug="invalid")
    if at is not None:
        return node.app.case_at(case_id, at), at
    case = node.app.case(case_id, version)
    if version is not None and case.version != version:
        raise CaseNotFound(f"{case_id} has no version {version} yet")
    return case, node.clock.now()


@router.get("/{case_id}/timeline", response_model=Timeline, responses=openapi.CASE_READ)
def read_timeline(case_id: UUID, who: CaseReader, node: NodeDep, purpose: Purpose,
                  as_of: AsOf = None) -> Timeline:
    events = node.app.timeline(case_id)
    if as_of is not None:  # what this agency had recorded by then, its partner's facts too
        events = [e for e in events if e.timestamp <= as_of]
        if not events:
            raise CaseNotFound(f"{case_id} did not exist at {as_of.isoformat()}")
    with_person = sees_person(who)
    if with_person:
        node.access_log.record(case_id, who.agency, who.sub, "timeline", purpose,
                               node.clock.now())
    delivered = node.deliveries.delivered(case_id) if node.deliveries is not None else {}
    return Timeline(id=case_id, events=[
        timeline_entry(e, with_person, delivered.get(e.originator_version)) for e in events])
