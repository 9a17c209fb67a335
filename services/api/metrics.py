"""Prometheus metrics: requests by route and status, steps recorded by type.

Each app has its own registry, so two nodes in one process (tests, `homeward
run`) keep their counts apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Metric, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Gauges(Collector):
    """Values read when metrics are scraped (the relay's lag, refused milestones...)."""

    def __init__(self, gauges: Mapping[str, Callable[[], float]]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterable[Metric]:
        for name, read in self.gauges.items():
            yield GaugeMetricFamily(name, name.replace("_", " "), value=read())


class Metrics:
    def __init__(self, gauges: Mapping[str, Callable[[], float]] | None = None) -> None:
        self.registry = CollectorRegistry()
        if gauges is not None:
            self.registry.register(Gauges(gauges))
        self.requests = Counter("homeward_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.steps = Counter("homeward_steps_recorded", "Steps recorded through the API",
                             ["type"], registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class CountRequests:
    """Counts each answered request under its route template, not its raw path,
    so case ids do not become label values."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route is None:  # the OpenAPI pages are fixed paths; anything else is noise
                route = scope["path"] if "endpoint" in scope else "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status[0])).inc()
