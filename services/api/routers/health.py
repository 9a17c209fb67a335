"""Liveness, readiness and metrics: for operators, without a token."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from services.api.deps import MetricsDep, NodeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(node: NodeDep) -> JSONResponse:
    failed = {}
    for name, check in node.checks.items():
        try:
            check()
        except Exception as error:  # any failure of a part means "not ready"
            failed[name] = type(error).__name__
    body = {"status": "not ready" if failed else "ready", "failed": failed}
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get("/metrics")
def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
