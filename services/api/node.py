"""The nodes the API serves: an agency node and the monitor node, each with its parts,
started and closed in order. services/bootstrap.py builds them; nothing here chooses
a store, a broker client or a verifier.

Both kinds share what operators see: readiness checks by name (`/readyz`), alerts (in
`/readyz` too, without making the node unready) and gauges read when `/metrics` is
scraped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from events.case import Case
from events.deadlines import Deadlines
from services.alerts.watch import Alerts
from services.anchors.audit import StoreAudit, trusted
from services.anchors.store import Anchors
from services.api.documents import Documents
from services.api.identity.auth import TokenVerifier
from services.api.web.oidc import Provider
from services.application import Homeward
from services.clock import Clock
from services.exchange.directory import Directory
from services.exchange.exchange import Exchange
from services.exchange.leadership import AlwaysHeld, Role
from services.readside.monitor import MilestoneConsumer, MilestoneGate, MonitorView
from services.readside.queries import ReadModels
from services.readside.runner import ProjectionWorker
from services.settings import Settings
from services.signing import SigningKey
from services.tables import Tables
from services.tables.access import AccessLog
from services.tables.deliveries import Deliveries
from services.tables.idempotency import Idempotency, KeyPurge

RELAY_LAG_LIMIT = 1000  # events recorded but not yet sent: more, and the node is not ready

Check = Callable[[], object]  # returns normally when its part is reachable
Gauge = Callable[[], float | Mapping[str, float]]  # a mapping: one value per label
Alert = Callable[[], str | None]  # what an operator must act on, or None


@dataclass
class Node:
    settings: Settings
    clock: Clock
    app: Homeward
    tokens: TokenVerifier
    idempotency: Idempotency
    access_log: AccessLog
    read_models: ReadModels
    tables: Tables  # the API's own tables: idempotency keys and the access log
    anchors: Anchors  # the checkpoints it signed and its partners' it received
    exchange: Exchange | None = None  # with a broker: the relay and the inbox, not yet started
    signin: Provider | None = None  # the OpenID provider the pages sign in through, if any
    signing: SigningKey | None = None  # the node's key: checkpoints, exports, partner reads
    trust: Callable[[], Directory] | None = None  # the trust directory as it stands
    # What was sent to partners and which receipts came back (with the exchange).
    deliveries: Deliveries | None = None
    # The cases' documents, sealed under each case's key (services/api/documents.py).
    documents: Documents | None = None
    # Readiness checks by name: each returns normally when its part is reachable.
    checks: dict[str, Check] = field(default_factory=dict)
    # What an operator must see though the node still serves (in /readyz), by name.
    alerts: dict[str, Alert] = field(default_factory=dict)
    # The roles one replica holds at a time (relay, projections), shown in /readyz; the
    # exchange's relay runs under `roles["relay"]` (services/bootstrap.py).
    roles: dict[str, Role] = field(
        default_factory=lambda: {"projections": AlwaysHeld("projections")})

    @property
    def agency(self) -> str:
        return self.settings.agency

    def audit(self) -> StoreAudit:
        """The store checked against the checkpoints held (services/anchors)."""
        trust = self.trust
        directory = (lambda: trust().key) if trust is not None else None
        return StoreAudit(self.app, self.anchors, self.agency,
                          trusted(self.signing, directory))

    def deadlines(self, case: Case) -> Deadlines:
        # The same lookup the board and hand-offs use, so a case and its row agree.
        return self.read_models.deadlines_for(case.state.referring, case.state.receiving)

    # The parts that run in the background once the node serves.
    background: list[Callable[[], None]] = field(default_factory=list)
    # Gauges read when /metrics is scraped, by name.
    gauges: dict[str, Gauge] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.gauges["homeward_overdue_cases_by_assignee"] = self.overdue_by_assignee

    def start(self) -> Node:
        """Keep the read models current and, with a broker, exchange with the partners."""
        worker = ProjectionWorker(self.read_models.runners,
                                  role=self.roles.get("projections")).start()
        self.background.append(worker.stop)
        self.background.append(KeyPurge(self.idempotency, self.clock.now).start().stop)
        if self.exchange is not None:
            link = self.exchange.start()
            self.background.insert(0, link.stop)
            self.checks["inbox"] = lambda: _inbox_moves(link)
            self.checks["relay"] = lambda: _require(link.relay.lag() <= RELAY_LAG_LIMIT,
                                                    "the relay is far behind the store")
            self.gauges["homeward_relay_lag_events"] = link.relay.lag
            self.gauges["homeward_inbox_rejoins"] = lambda: link.inbox.rejoins
            self.gauges["homeward_inbox_parked"] = lambda: len(link.inbox.parked)
            self.gauges["homeward_inbox_stalled_partitions"] = lambda: len(
                link.inbox.progress.stalled(link.inbox.paused))
            dead = link.relay.dead_letters
            self.gauges["homeward_relay_dead_letters"] = dead.count
            self.alerts["inbox"] = link.inbox.trouble
            self.alerts["relay"] = lambda: (
                f"{dead.count()} event(s) could not be sent and wait in {dead.path}"
                if dead.count() else None)
        for name, role in self.roles.items():
            self.gauges[f"homeward_{name}_held"] = _held(role)
        if self.deliveries is not None:
            self.gauges["homeward_undelivered_messages"] = self.undelivered
            self.alerts["delivery"] = lambda: (
                f"{n} message(s) to partners without a receipt for more than "
                f"{self.settings.undelivered_after_seconds:g} s" if (n := self.undelivered())
                else None)
        return self

    def overdue_by_assignee(self) -> dict[str, float]:
        """Cases with a clock run out, by the user they are assigned to."""
        self.read_models.refresh()
        counts = self.read_models.overdue_by_assignee(self.clock.now())
        return {assignee or "unassigned": n for assignee, n in counts.items()}

    def undelivered(self) -> int:
        """Messages to partners still without a receipt once the threshold has passed."""
        if self.deliveries is None:
            return 0
        since = timedelta(seconds=self.settings.undelivered_after_seconds)
        return self.deliveries.undelivered(self.clock.now() - since)

    def close(self) -> None:
        for stop in self.background:
            stop()
        self.read_models.close()
        self.tables.close()
        self.app.close()


def _held(role: Role) -> Gauge:
    """1 while this replica holds the role, else 0."""
    return lambda: float(role.held())


class Stalled(RuntimeError):
    """An inbox partition stands still while records wait on it (`/readyz` names it)."""


def _inbox_moves(link: Exchange) -> None:
    _require(link.ready(), "no inbox partition assigned")
    if (stalled := link.inbox.stalled()) is not None:
        raise Stalled(stalled)


def _require(ok: bool, failure: str) -> None:
    if not ok:
        raise RuntimeError(failure)


@dataclass
class MonitorNode:
    """De-identified milestones from every corridor in, the corridor view out. It keeps
    no case store and serves nothing of any agency's cases."""

    settings: Settings
    clock: Clock
    view: MonitorView
    tokens: TokenVerifier
    gate: MilestoneGate  # only milestones signed by an agency of the trust directory
    # With a broker: makes the consumer of `homeward.monitoring`.
    consumer: Callable[[], MilestoneConsumer] | None = None
    signin: Provider | None = None  # the OpenID provider the pages sign in through, if any
    # Alerts pushed to subscribers (services/alerts); `start()` delivers them every second.
    pushed: Alerts | None = None
    checks: dict[str, Check] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    gauges: dict[str, Gauge] = field(default_factory=dict)
    background: list[Callable[[], None]] = field(default_factory=list)  # e.g. a metrics server
    roles: dict[str, Role] = field(default_factory=dict)  # one process: none to share
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.checks.setdefault("store", lambda: self.view.store.all("monitor"))
        # Refused by the gate (trust) or by the view (another corridor than the case's).
        self.gauges.setdefault("homeward_milestones_refused",
                               lambda: sum((self.gate.refused + self.view.refused).values()))

    def start(self) -> MonitorNode:
        """Consume `homeward.monitoring` in the background, if a broker is configured."""
        if self.consumer is not None:
            thread = threading.Thread(target=self._consume, args=(self.consumer(),),
                                      daemon=True, name="monitor-consumer")
            thread.start()
            self._threads.append(thread)
        if self.pushed is not None:
            thread = threading.Thread(target=self.pushed.run, args=(self._stop,),
                                      daemon=True, name="alert-deliveries")
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
        for stop in self.background:
            stop()
        self.view.store.close()
