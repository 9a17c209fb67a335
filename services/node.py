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
from services.read_models import ReadModels
from services.settings import Settings, node_secret, persistence_env

JWT_SECRET_FILE = "jwt.secret"


@dataclass
class Node:
    settings: Settings
    clock: Clock
    app: Homeward
    tokens: TokenVerifier
    idempotency: Idempotency
    access_log: AccessLog
    read_models: ReadModels
    # Deadlines per corridor (referring, receiving); others use DOMAIN.md's defaults.
    corridors: dict[tuple[str, str], Deadlines] = field(default_factory=dict)
    # Readiness checks by name: each returns normally when its part is reachable.
    checks: dict[str, Callable[[], object]] = field(default_factory=dict)

    @property
    def agency(self) -> str:
        return self.settings.agency

    def deadlines(self, case: Case) -> Deadlines:
        return self.corridors.get((case.state.referring, case.state.receiving), Deadlines())

    def close(self) -> None:
        self.read_models.close()
        self.app.close()


def jwt_secret(settings: Settings) -> str:
    """The secret development tokens are signed with (and HS256 tokens verified with)."""
    return settings.jwt_secret or node_secret(settings, JWT_SECRET_FILE)


def sidecar(settings: Settings) -> Sidecar:
    if settings.is_postgres:
        assert settings.database_url is not None
        return PostgresSidecar(settings.database_url)
    return SQLiteSidecar(settings.home / "api.sqlite")


def build_node(settings: Settings, clock: Clock | None = None) -> Node:
    clock = clock or SystemClock()
    app = Homeward(persistence_env(settings), clock)
    if settings.jwks_url and not settings.jwt_secret:
        tokens = TokenVerifier(jwks_url=settings.jwks_url)
    else:
        tokens = TokenVerifier(secret=jwt_secret(settings))
    db = sidecar(settings)
    corridors: dict[tuple[str, str], Deadlines] = {}
    read_models = ReadModels(app, deadlines_for=lambda r, c: corridors.get((r, c), Deadlines()))
    node = Node(settings, clock, app, tokens, SidecarIdempotency(db), AccessLog(db), read_models,
                corridors)
    node.checks["store"] = app.recorder.max_notification_id
    return node
