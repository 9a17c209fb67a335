"""The monitor node's corridor view: milestones and clocks per corridor, for monitors,
never a name (the node keeps no case store)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.api.deps import MonitorNodeDep
from services.api.policy import Monitor

router = APIRouter(tags=["monitor"])


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


@router.get("/v1/monitor/alerts")
def alerts(node: MonitorNodeDep, who: Monitor) -> list[dict[str, Any]]:
    """The alerts standing now: each overdue clock and each escalation not yet answered
    (an incident in transit until arrival or cancellation, a protection incident or a
    re-trafficking risk until a new risk assessment), per pseudonymous case."""
    if node.pushed is None:
        return []
    return node.pushed.standing()
