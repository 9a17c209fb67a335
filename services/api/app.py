"""The HTTP API: `create_app(node)` for an agency node, `create_monitor_app(node)` for
the monitor node. Both serve health, readiness and metrics the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.api import policy
from services.api.http import docs, matching, openapi, problems
from services.api.http.limits import BodyLimit
from services.api.http.metrics import CountRequests, Metrics, scrape
from services.api.http.replay import IdempotentPosts
from services.api.node import MonitorNode, Node
from services.api.routers import (
    audit,
    casefiles,
    cases,
    casework,
    forms,
    handoffs,
    health,
    monitor,
    partner,
    steps,
    subscriptions,
    transfers,
    trends,
)
from services.api.web import pages, signin


@asynccontextmanager
async def routes_prepared(app: FastAPI) -> AsyncIterator[None]:
    """FastAPI prepares an included router's routes (each parameter's validator) when a
    request first reaches them: about half a second for this API, which the first callers
    after a start would wait. Prepared here, before the server takes a request."""
    for _ in policy.routes(app):
        pass
    yield


def create_app(node: Node) -> FastAPI:
    app = FastAPI(
        title=f"Homeward agency node {node.agency}", version="1",
        description="Cross-border referral and repatriation: one agency's cases (CONTRACT.md).",
        docs_url=None, redoc_url=None,  # docs.install adds them when the settings ask
        lifespan=routes_prepared,
    )
    app.state.node = node
    app.state.metrics = Metrics(node.gauges)
    app.state.scrape = scrape(app.state.metrics, node.settings, node.background)
    for router in (cases.router, casework.router, casefiles.router, forms.router,
                   steps.router, handoffs.router, transfers.router, audit.router,
                   partner.router, health.router):
        app.include_router(router)
    app.include_router(pages.router)  # the status board page; its data needs a token
    app.include_router(signin.router)  # single sign-on, where the node has a provider
    problems.install(app)
    openapi.install(app)
    docs.install(app, node.settings.api_docs)
    policy.install(app)
    matching.install(app)
    # The last added runs first: count everything, then bound the body, then replay.
    app.add_middleware(IdempotentPosts, tokens=node.tokens, store=node.idempotency,
                       clock=node.clock, agency=node.agency)
    app.add_middleware(BodyLimit)
    app.add_middleware(CountRequests, metrics=app.state.metrics)
    return app


def create_monitor_app(node: MonitorNode) -> FastAPI:
    app = FastAPI(title="Homeward monitor node", version="1",
                  description="Milestones and clocks per corridor; no personal data.",
                  docs_url=None, redoc_url=None, lifespan=routes_prepared)
    app.state.node = node
    app.state.metrics = Metrics(node.gauges)
    app.state.scrape = scrape(app.state.metrics, node.settings, node.background)
    app.include_router(monitor.router)
    app.include_router(subscriptions.router)
    app.include_router(trends.router)
    app.include_router(health.router)
    app.include_router(pages.monitor_router)  # the corridors page; its data needs a token
    app.include_router(signin.router)
    problems.install(app)
    docs.install(app, node.settings.api_docs)
    policy.install(app)
    matching.install(app)
    return app
