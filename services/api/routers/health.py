"""Liveness, readiness and metrics: for operators, without a user's token. Agency nodes
and the monitor node serve the same three routes, over their own checks, alerts and
gauges."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from services.api.deps import ScrapeDep
from services.api.http import openapi
from services.api.node import Alert, Check
from services.api.policy import PUBLIC, SCRAPER, require
from services.exchange.leadership import Role

router = APIRouter(tags=["operations"])


def _checks(request: Request) -> Mapping[str, Check]:
    checks: Mapping[str, Check] = request.app.state.node.checks  # either kind of node
    return checks


def _alerts(request: Request) -> Mapping[str, Alert]:
    alerts: Mapping[str, Alert] = request.app.state.node.alerts
    return alerts


def _roles(request: Request) -> Mapping[str, Role]:
    roles: Mapping[str, Role] = request.app.state.node.roles
    return roles


@router.get("/healthz", dependencies=[require(PUBLIC)])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", dependencies=[require(PUBLIC)],
            responses={503: {"description": "a part of the node is unreachable"}})
def readyz(checks: Annotated[Mapping[str, Check], Depends(_checks)],
           alerts: Annotated[Mapping[str, Alert], Depends(_alerts)],
           roles: Annotated[Mapping[str, Role], Depends(_roles)]) -> JSONResponse:
    """Ready when every part is reachable; `alerts`, when there are any, is what an
    operator must see though the node still serves (events the relay could not send);
    `roles`, on an agency node, whether this replica holds the relay and the projection
    worker (one replica of the node holds each; every replica serves the API)."""
    failed = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:  # any failure of a part means "not ready"
            failed[name] = type(error).__name__
    body: dict[str, object] = {"status": "not ready" if failed else "ready", "failed": failed}
    raised = {name: text for name, alert in alerts.items() if (text := alert())}
    if raised:
        body["alerts"] = raised
    if roles:  # which roles this replica holds; another replica of the node holds the rest
        body["roles"] = {name: role.held() for name, role in roles.items()}
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get("/metrics", response_class=Response, dependencies=[require(SCRAPER)], responses={
    200: {"description": "Prometheus text format", "content": {CONTENT_TYPE_LATEST: {}}},
    **openapi.problems(401, 404)})
def metrics(scrape: ScrapeDep) -> Response:
    """Prometheus metrics; with HOMEWARD_METRICS_TOKEN set, they need that bearer token."""
    return scrape.response()
