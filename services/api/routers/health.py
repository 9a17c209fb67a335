"""Liveness, readiness and metrics: for operators, without a token. Agency nodes and
the monitor node serve the same three routes, over their own checks and gauges."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from services.api.deps import MetricsDep
from services.api.node import Check

router = APIRouter(tags=["operations"])


def _checks(request: Request) -> Mapping[str, Check]:
    checks: Mapping[str, Check] = request.app.state.node.checks  # either kind of node
    return checks


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(checks: Annotated[Mapping[str, Check], Depends(_checks)]) -> JSONResponse:
    failed = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:  # any failure of a part means "not ready"
            failed[name] = type(error).__name__
    body = {"status": "not ready" if failed else "ready", "failed": failed}
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get("/metrics")
def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
