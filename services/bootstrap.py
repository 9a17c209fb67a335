"""The composition root: one agency node built from its settings.

Only this module (and the tests) choose the concrete parts: the store the
settings name, the token verifier, the API's own tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from events.case import Case
from events.deadlines import Deadlines
from services.api.access import AccessLog
from services.api.auth import TokenVerifier
from services.api.idempotency import Idempotency, SidecarIdempotency
from services.api.sidecar import PostgresSidecar, Sidecar, SQLiteSidecar
from services.application import Homeward
from services.clock import Clock, SystemClock
from services.exchange import exchange
from services.exchange.directory import DirectoryFile, directory_path
from services.projection_runner import ProjectionWorker
from services.read_models import ReadModels
from services.settings import Settings, node_secret, persistence_env

JWT_SECRET_FILE = "jwt.secret"
RELAY_LAG_LIMIT = 1000  # events recorded but not yet sent: more, and the node is not ready


@dataclass
class Node:
    settings: Settings
    clock: Clock
    app: Homeward
    tokens: TokenVerifier
    idempotency: Idempotency
    access_log: AccessLog
    read_models: ReadModels
    tables: Sidecar  # the API's own tables: idempotency keys and the access log
    # Readiness checks by name: each returns normally when its part is reachable.
    checks: dict[str, Callable[[], object]] = field(default_factory=dict)

    @property
    def agency(self) -> str:
        return self.settings.agency

    def deadlines(self, case: Case) -> Deadlines:
        # The same lookup the board and hand-offs use, so a case and its row agree.
        return self.read_models.deadlines_for(case.state.referring, case.state.receiving)

    # The parts that run in the background once the node serves.
    background: list[Callable[[], None]] = field(default_factory=list)
    # Gauges read when /metrics is scraped, by name.
    gauges: dict[str, Callable[[], float]] = field(default_factory=dict)

    def start(self) -> Node:
        """Keep the read models current and, with a broker, exchange with the partners."""
        worker = ProjectionWorker(self.read_models.runners).start()
        self.background.append(worker.stop)
        if self.settings.kafka_bootstrap:
            link = exchange.build(self.app, self.agency, self.settings.home,
                                  self.settings.kafka_bootstrap, self.settings.directory).start()
            self.background.insert(0, link.stop)
            self.checks["inbox"] = lambda: _require(link.ready(), "no inbox partition assigned")
            self.checks["relay"] = lambda: _require(link.relay.lag() <= RELAY_LAG_LIMIT,
                                                    "the relay is far behind the store")
            self.gauges["homeward_relay_lag_events"] = link.relay.lag
        return self

    def close(self) -> None:
        for stop in self.background:
            stop()
        self.read_models.close()
        self.tables.close()
        self.app.close()


def jwt_secret(settings: Settings) -> str:
    """The secret development tokens are signed with (and HS256 tokens verified with)."""
    return settings.jwt_secret or node_secret(settings, JWT_SECRET_FILE)


def sidecar(settings: Settings) -> Sidecar:
    if settings.is_postgres:
        assert settings.database_url is not None
        return PostgresSidecar(settings.database_url)
    return SQLiteSidecar(settings.home / "api.sqlite")


def token_verifier(settings: Settings) -> TokenVerifier:
    if settings.jwks_url and not settings.jwt_secret:
        return TokenVerifier(jwks_url=settings.jwks_url)
    return TokenVerifier(secret=jwt_secret(settings))


def _require(ok: bool, failure: str) -> None:
    if not ok:
        raise RuntimeError(failure)


def corridor_deadlines(settings: Settings) -> dict[tuple[str, str], Deadlines]:
    """The deadlines the trust directory sets per corridor (DOMAIN.md's defaults elsewhere)."""
    path = directory_path(settings.home, settings.directory)
    if not path.exists():
        return {}
    return {(c.referring, c.receiving): c.deadlines
            for c in DirectoryFile(path).current().corridors if c.deadlines is not None}


def build_node(settings: Settings, clock: Clock | None = None) -> Node:
    clock = clock or SystemClock()
    app = Homeward(persistence_env(settings), clock)
    tokens = token_verifier(settings)
    db = sidecar(settings)
    corridors = corridor_deadlines(settings)
    # Deadlines per corridor (referring, receiving); others use DOMAIN.md's defaults.
    read_models = ReadModels(app, deadlines_for=lambda r, c: corridors.get((r, c), Deadlines()))
    node = Node(settings, clock, app, tokens, SidecarIdempotency(db), AccessLog(db), read_models,
                tables=db)
    node.checks["store"] = app.recorder.max_notification_id
    return node
