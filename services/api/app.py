"""The agency node's HTTP API: `create_app(node)`."""

from __future__ import annotations

from fastapi import FastAPI

from services.api import pages, problems
from services.api.limits import BodyLimit
from services.api.metrics import CountRequests, Metrics
from services.api.replay import IdempotentPosts
from services.api.routers import audit, cases, handoffs, health, steps
from services.node import Node


def create_app(node: Node) -> FastAPI:
    app = FastAPI(
        title=f"Homeward agency node {node.agency}", version="1",
        description="Cross-border referral and repatriation: one agency's cases (CONTRACT.md).",
    )
    app.state.node = node
    app.state.metrics = Metrics(node.gauges)
    for router in (cases.router, steps.router, handoffs.router, audit.router, health.router):
        app.include_router(router)
    app.include_router(pages.router)  # the status board page; its data needs a token
    problems.install(app)
    # The last added runs first: count everything, then bound the body, then replay.
    app.add_middleware(IdempotentPosts, tokens=node.tokens, store=node.idempotency,
                       clock=node.clock)
    app.add_middleware(BodyLimit)
    app.add_middleware(CountRequests, metrics=app.state.metrics)
    return app
