"""The monitor node's corridor view: milestones and clocks per corridor, for monitors,
never a name (the node keeps no case store)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from events.values import Role
from services.api.auth import Principal
from services.api.node import MonitorNode
from services.api.problems import Problem
from services.contract.codec import MONITOR

router = APIRouter(tags=["monitor"])


def _node(request: Request) -> MonitorNode:
    node: MonitorNode = request.app.state.node
    return node


MonitorNodeDep = Annotated[MonitorNode, Depends(_node)]


def _monitor(node: MonitorNodeDep,
             authorization: Annotated[str | None, Header()] = None) -> Principal:
    who = node.tokens.principal(authorization)  # the verifier takes only agency `monitor`
    if who.agency != MONITOR or not who.has(Role.MONITOR):
        raise Problem(403, "the corridor view is for monitors", slug="forbidden")
    return who


Monitor = Annotated[Principal, Depends(_monitor)]


@router.get("/v1/monitor/corridors")
def corridors(node: MonitorNodeDep, who: Monitor) -> list[dict[str, Any]]:
    """Per corridor: cases per status, median days per stage, overdue clocks."""
    return node.view.corridors(node.clock.now())


@router.get("/v1/monitor/statistics")
def statistics(node: MonitorNodeDep, who: Monitor) -> list[dict[str, Any]]:
    """The same, for publication: every count below k = 11 is suppressed."""
    return node.view.statistics(node.clock.now())


@router.get("/v1/monitor/series")
def series(node: MonitorNodeDep, who: Monitor) -> list[dict[str, Any]]:
    """Per corridor and month: cases per status, median days per stage; k-suppressed."""
    return node.view.series(node.clock.now())
