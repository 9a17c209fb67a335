"""Prometheus metrics: requests by route and status, steps recorded by type.

Each app has its own registry, so two nodes in one process (tests, `homeward
run`) keep their counts apart. Label values come from fixed sets (methods, route
templates), so no request can add a series. Who may read them: holders of
HOMEWARD_METRICS_TOKEN, or only whoever reaches HOMEWARD_METRICS_ADDR; anyone only while the
node listens on loopback (`open_to_anyone`: a node reachable from elsewhere does not start
with its metrics open).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping

from fastapi import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Metric,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.http.problems import Problem
from services.settings import Settings, SettingsError

# The methods a route can answer; any other is counted as OTHER.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Gauges(Collector):
    """Values read when metrics are scraped (the relay's lag, refused milestones...). A
    gauge named `..._by_<label>` reads a value per label value (overdue cases by assignee)."""

    def __init__(self, gauges: Mapping[str, Callable[[], float | Mapping[str, float]]]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterable[Metric]:
        for name, read in self.gauges.items():
            value = read()
            if isinstance(value, Mapping):
                family = GaugeMetricFamily(name, name.replace("_", " "),
                                           labels=[name.rpartition("_by_")[2]])
                for label, count in sorted(value.items()):
                    family.add_metric([label], count)
                yield family
            else:
                yield GaugeMetricFamily(name, name.replace("_", " "), value=value)


class Metrics:
    def __init__(self, gauges: Mapping[str, Callable[[], float | Mapping[str, float]]] | None
                 = None) -> None:
        self.registry = CollectorRegistry()
        if gauges is not None:
            self.registry.register(Gauges(gauges))
        self.requests = Counter("homeward_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.steps = Counter("homeward_steps_recorded", "Steps recorded through the API",
                             ["type"], registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Scrape:
    """The `/metrics` route's gate: open, behind a bearer token, or not served here at
    all because the metrics have an address of their own."""

    def __init__(self, metrics: Metrics, token: str | None = None, apart: bool = False) -> None:
        self.metrics, self.token, self.apart = metrics, token, apart

    def response(self) -> Response:
        """The metrics; who may read them is the rule SCRAPER's (services/api/policy.py)."""
        if self.apart:
            raise Problem(404, "metrics are served on their own address", slug="not-found")
        return Response(self.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def serve_apart(metrics: Metrics, address: str) -> Callable[[], None]:
    """Serves the metrics alone on `host:port` (HOMEWARD_METRICS_ADDR); returns the stop."""
    host, _, port = address.rpartition(":")
    server, thread = start_http_server(int(port), host or "127.0.0.1", registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def loopback(host: str) -> bool:
    """Whether only this machine reaches a server listening on `host`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve to anything


def open_to_anyone(settings: Settings, host: str) -> None:
    """Refuses a node listening beyond loopback with /metrics open to whoever asks: what
    it counts (routes, steps, lags, refusals) is the agency's to share."""
    if settings.metrics_token or settings.metrics_addr or loopback(host):
        return
    raise SettingsError(f"HOMEWARD_METRICS_TOKEN: listening on {host}, beyond this machine, "
                        "/metrics needs HOMEWARD_METRICS_TOKEN or HOMEWARD_METRICS_ADDR")


def scrape(metrics: Metrics, settings: Settings, stops: list[Callable[[], None]]) -> Scrape:
    """The gate the settings ask for; a separate metrics server's stop joins `stops`."""
    if settings.metrics_addr:
        stops.append(serve_apart(metrics, settings.metrics_addr))
    return Scrape(metrics, settings.metrics_token, apart=bool(settings.metrics_addr))


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
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.metrics.requests.labels(method, route, str(status[0])).inc()
