"""The monitor node: de-identified milestones from every corridor in, the corridor view
out. It keeps no case store and serves nothing of any agency's cases."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from events.values import Role
from services.api import pages, problems
from services.api.auth import Principal, TokenVerifier
from services.api.metrics import Metrics
from services.api.problems import Problem
from services.clock import Clock, SystemClock
from services.exchange.directory import directory_path
from services.monitor_view import MilestoneConsumer, MilestoneGate, MonitorView
from services.node import token_verifier
from services.projection_store import ReadStore, SqliteReadStore
from services.settings import Settings


@dataclass
class MonitorNode:
    settings: Settings
    clock: Clock
    view: MonitorView
    tokens: TokenVerifier
    gate: MilestoneGate  # only milestones signed by an agency of the trust directory
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> MonitorNode:
        """Consume `homeward.monitoring` in the background, if a broker is configured."""
        if self.settings.kafka_bootstrap:
            consumer = MilestoneConsumer(self.settings.kafka_bootstrap, self.view, self.gate)
            thread = threading.Thread(target=self._consume, args=(consumer,), daemon=True,
                                      name="monitor-consumer")
            thread.start()
            self._threads.append(thread)
        return self

    def _consume(self, consumer: MilestoneConsumer) -> None:
        try:
            consumer.run(self._stop)
        finally:
            consumer.close()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.view.store.close()


def read_store(settings: Settings) -> ReadStore:
    if settings.is_postgres:
        from services.projection_store_pg import PostgresReadStore
        from services.settings import postgres_env

        assert settings.database_url is not None
        return PostgresReadStore.from_env(postgres_env(settings.database_url))
    settings.home.mkdir(parents=True, exist_ok=True)
    return SqliteReadStore(settings.home / "monitor.sqlite")


def build_monitor(settings: Settings, clock: Clock | None = None) -> MonitorNode:
    return MonitorNode(settings, clock or SystemClock(), MonitorView(read_store(settings)),
                       token_verifier(settings),
                       MilestoneGate.of_file(directory_path(settings.home, settings.directory)))


def _monitor(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    node: MonitorNode = request.app.state.node
    who = node.tokens.principal(authorization)
    if not who.has(Role.MONITOR):
        raise Problem(403, "the corridor view is for monitors", slug="forbidden")
    return who


Monitor = Annotated[Principal, Depends(_monitor)]


def create_monitor_app(node: MonitorNode) -> FastAPI:
    app = FastAPI(title="Homeward monitor node", version="1",
                  description="Milestones and clocks per corridor; no personal data.")
    app.state.node = node

    @app.get("/v1/monitor/corridors", tags=["monitor"])
    def corridors(who: Monitor) -> list[dict[str, Any]]:
        """Per corridor: cases per status, median days per stage, overdue clocks."""
        return node.view.corridors(node.clock.now())

    @app.get("/v1/monitor/statistics", tags=["monitor"])
    def statistics(who: Monitor) -> list[dict[str, Any]]:
        """The same, for publication: every count below k = 11 is suppressed."""
        return node.view.statistics(node.clock.now())

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> dict[str, str]:
        node.view.store.all("monitor")
        return {"status": "ready"}

    metrics = Metrics({"homeward_milestones_refused": lambda: sum(node.gate.refused.values())})

    @app.get("/metrics", tags=["operations"])
    def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(pages.monitor_router)  # the corridors page; its data needs a token
    problems.install(app)
    return app
