"""The composition root: an agency node or the monitor node, built from its settings.

Only this module chooses the concrete parts: the backend `HOMEWARD_DATABASE_URL` names
(SQLite or PostgreSQL, services/backends/), which yields the event store, the read store,
the gap barrier, the node's own tables, the per-case key table and the replicas' roles;
the token verifier; the Kafka clients' factories (services/backends/kafka.py), handed down
to whatever uses a client; the clock. Each is a parameter with the production default, so
tests and benchmarks build nodes here with fakes or test settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from events.deadlines import Deadlines
from projections.board import DeadlinesFor, default_deadlines
from services.alerts.watch import Alerts
from services.anchors.audit import StoreAudit, trusted
from services.anchors.store import Anchors
from services.api.documents import Documents
from services.api.identity.auth import TokenVerifier, issue
from services.api.identity.claims import claim_map
from services.api.identity.opaque import OpaqueTokens
from services.api.node import MonitorNode, Node
from services.api.web.oidc import Provider
from services.application import Homeward, KeysFor
from services.backends import Backend, of_store
from services.backends.kafka import Kafka
from services.backends.postgres import PostgresBackend, Unreachable
from services.backends.sqlite import SQLiteBackend, SQLiteTables
from services.clock import Clock, SystemClock
from services.exchange.directory import DirectoryFile, directory_path
from services.exchange.exchange import Exchange
from services.exchange.inbox import HoldingLimits, Inbox, ParkingLimits
from services.exchange.leadership import AlwaysHeld, Role
from services.exchange.progress import STALL_SECONDS
from services.exchange.receipts import Receipts
from services.exchange.relay import DeadLetters, Relay, Resending
from services.exchange.sealing_keys import load_sealing_keys
from services.exchange.topics import MONITORING
from services.files import JWT_SECRET_FILE, default_key_dir
from services.notification_log import GapBarrier, NoLateCommits
from services.readside.monitor import GROUP, MilestoneConsumer, MilestoneGate, MonitorView
from services.readside.queries import ReadModels
from services.readside.store import ReadStore
from services.settings import (
    MIN_SECRET_BYTES,
    Settings,
    SettingsError,
    cipher_key,
    node_secret,
    secrets_dir,
)
from services.signing import load_or_create
from services.tables import Tables
from services.tables.access import AccessLog
from services.tables.deliveries import Deliveries
from services.tables.idempotency import TableIdempotency

RELAY_DEAD_LETTERS = "relay-dead-letters.jsonl"  # in the data dir: what could not be sent
EXCHANGE_TABLES = "exchange.sqlite"  # deliveries of an exchange built without the node's tables
# AES-GCM through OpenSSL (`cryptography`), its key set up once: the same layout (nonce,
# tag, ciphertext) as eventsourcing's and pycryptodome's `AESCipher`, so rows written with
# any of them read alike (services/erasure/store_cipher.py).
CIPHER = "services.erasure.store_cipher:StoreCipher"


# -- the application and its read side ---------------------------------------

def backend(settings: Settings) -> Backend:
    """The one choice of store: PostgreSQL for a postgresql:// `HOMEWARD_DATABASE_URL`,
    else SQLite (the URL's file, or `events.sqlite` in the data dir)."""
    if settings.is_postgres:
        assert settings.database_url is not None
        return PostgresBackend.of_url(settings.database_url)
    return SQLiteBackend(settings.sqlite_path(), settings.home)


def persistence_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for this node's store, encrypted at rest."""
    chosen = backend(settings)
    env = chosen.event_store()
    try:
        exists = chosen.store_exists()
    except Unreachable as error:
        raise SettingsError(f"HOMEWARD_DATABASE_URL: cannot connect ({error})") from None
    env["CIPHER_TOPIC"] = CIPHER
    env["CIPHER_KEY"] = cipher_key(settings, exists)
    return env


def application(settings: Settings, clock: Clock | None = None,
                keys_for: KeysFor | None = None) -> Homeward:
    """The case store the settings name (its cipher key checked), as the application,
    with each case's key in the key table beside that store."""
    chosen = backend(settings)
    return Homeward(persistence_env(settings), clock or SystemClock(),
                    keys_for or (lambda env, wrap: chosen.case_keys(wrap)))


def store_backend(app: Application[Any]) -> Backend | None:
    """The backend an application's store is on (None for a store in memory)."""
    return of_store(app.env)


def read_store_for(env: Mapping[str, str]) -> ReadStore:
    """The read store beside an event store: the same PostgreSQL database and schema, or
    a SQLite file next to the events file."""
    found = of_store(env)
    if found is None:
        raise ValueError("a store in memory has no read store beside it")
    return found.read_store()


def gap_barrier(app: Application[Any]) -> GapBarrier:
    """How a projection tells a lasting gap in the notification log from a late commit."""
    found = store_backend(app)
    return found.gap_barrier(app) if found is not None else NoLateCommits()


def read_models(app: Application[Any], deadlines_for: DeadlinesFor = default_deadlines,
                store: ReadStore | None = None, barrier: GapBarrier | None = None,
                clock: Clock | None = None) -> ReadModels:
    return ReadModels(app, store if store is not None else read_store_for(app.env),
                      barrier if barrier is not None else gap_barrier(app), deadlines_for,
                      clock)


def deadlines_of(settings: Settings) -> DeadlinesFor:
    """Deadlines per corridor (referring, receiving); others use DOMAIN.md's defaults."""
    corridors = corridor_deadlines(settings)
    return lambda r, c: corridors.get((r, c), Deadlines())


def corridor_deadlines(settings: Settings) -> dict[tuple[str, str], Deadlines]:
    """The deadlines the trust directory sets per corridor (DOMAIN.md's defaults elsewhere)."""
    path = directory_path(settings.home, settings.directory)
    if not path.exists():
        return {}
    return {(c.referring, c.receiving): c.deadlines
            for c in DirectoryFile(path).current().corridors if c.deadlines is not None}


def replica_roles(app: Application[Any]) -> dict[str, Role]:
    """The roles one replica of the node holds at a time: on PostgreSQL, whichever replica
    holds the role's advisory lock in this store; a SQLite node, one process, holds both."""
    found = store_backend(app)
    if found is None:
        return {name: AlwaysHeld(name) for name in ("relay", "projections")}
    return found.roles()


# -- the API's parts ----------------------------------------------------------

def jwt_secret(settings: Settings) -> str:
    """The secret development tokens are signed with (and HS256 tokens verified with)."""
    secret = settings.jwt_secret or node_secret(settings, JWT_SECRET_FILE)
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise SettingsError(f"HOMEWARD_JWT_SECRET: the secret in {settings.keys / JWT_SECRET_FILE}"
                            f" is shorter than {MIN_SECRET_BYTES} bytes")
    return secret


def signin_provider(settings: Settings) -> Provider | None:
    """The OpenID provider the pages sign in through, if the settings name one."""
    return Provider(settings) if settings.oidc_issuer else None


def token_verifier(settings: Settings, provider: Provider | None = None) -> TokenVerifier:
    """Tokens issued for this node only: its agency, issuer, audience and longest lifetime;
    with single sign-on, signed with the provider's keys."""
    identity: dict[str, Any] = {
        "agency": settings.agency, "issuer": settings.issuer, "audience": settings.audience,
        "max_lifetime": timedelta(hours=settings.token_max_hours),
        "claims": claim_map(settings)}
    if provider is not None:
        return TokenVerifier(keys=provider.signing_keys, client_id=settings.oidc_client_id,
                             opaque=OpaqueTokens(provider), **identity)
    if settings.jwks_url:
        return TokenVerifier(jwks_url=settings.jwks_url, **identity)
    return TokenVerifier(secret=jwt_secret(settings), **identity)


def mint(settings: Settings, sub: str, roles: list[str], hours: float = 8.0) -> str:
    """A development token for this node's own agency, signed with its secret."""
    return issue(jwt_secret(settings), sub, settings.agency, roles, datetime.now(UTC), hours,
                 issuer=settings.issuer, audience=settings.audience)


def sidecar(settings: Settings) -> Tables:
    """The node's own tables, in the store the settings name."""
    return backend(settings).tables()


def kafka(settings: Settings) -> Kafka:
    """The factories of the Kafka clients, for the cluster the settings name."""
    assert settings.kafka_bootstrap
    return Kafka(settings.kafka_bootstrap, settings.kafka_client())


# -- what the command line audits ---------------------------------------------

def store_audit(settings: Settings, app: Homeward) -> StoreAudit:
    """The store's audit: the checkpoints kept beside it, the node's own key and the
    trust directory's keys. The caller closes `audit.anchors.db`."""
    own = load_or_create(secrets_dir(settings), settings.agency)
    trust = DirectoryFile(directory_path(settings.home, settings.directory))
    chosen = backend(settings)
    return StoreAudit(app, Anchors(sidecar(settings)), settings.agency,
                      trusted(own, lambda: trust.current().key),
                      lambda case_ids: chosen.stored_events(app, case_ids))


def record_read(settings: Settings, app: Homeward, case_id: UUID, sub: str, what: str,
                purpose: str | None) -> None:
    """A read of a case's personal data outside the API (an export), in the node's access
    log, the purpose under the case's key as the API records it."""
    tables = sidecar(settings)
    try:
        AccessLog(tables, app.mapper.cipher, app.keys).record(
            case_id, settings.agency, sub, what, purpose, SystemClock().now())
    finally:
        tables.close()


# -- the exchange over Kafka --------------------------------------------------

def kafka_exchange(
    app: Homeward, agency: str, data_dir: Path, bootstrap: str,
    directory: Path | None = None, client: Mapping[str, Any] | None = None,
    replication: int = 1, inbox_partitions: int = 3, relay_role: Role | None = None,
    anchors: Anchors | None = None,
    deliveries: Deliveries | None = None,
    resending: Resending | None = None, bound: HoldingLimits | None = None,
    keys: Path | None = None,
    retention_days: tuple[int, int] = (7, 30),
    parked_bound: ParkingLimits | None = None, stall_seconds: float = STALL_SECONDS,
    undelivered_after: float = 300.0,
) -> Exchange:
    """The relay and the inbox with their Kafka clients: the key pair in `keys` (the key
    dir; by default `<data dir>.keys`, made on first start), the trust directory
    (HOMEWARD_DIRECTORY or the data dir's file), the broker list and any client options a
    cluster needs (SASL, TLS); topics it creates get `replication` copies
    (HOMEWARD_KAFKA_REPLICATION), the inbox `inbox_partitions`
    (HOMEWARD_KAFKA_INBOX_PARTITIONS), the inbox and the dead letters kept `retention_days`
    (HOMEWARD_INBOX_RETENTION_DAYS, HOMEWARD_DEADLETTER_RETENTION_DAYS). The relay runs
    while this replica holds `relay_role`. What the relay cannot send waits in the data
    dir's RELAY_DEAD_LETTERS; checkpoints, the node's and its partners', are kept in
    `anchors`. What was sent and receipted is kept in `deliveries` (the node's tables; by
    default a SQLite file in the data dir)."""
    keys = keys or default_key_dir(data_dir)
    key = load_or_create(keys, agency)
    clients = Kafka(bootstrap, dict(client or {}))
    trust = DirectoryFile(directory_path(data_dir, directory))
    if deliveries is None:
        deliveries = Deliveries(SQLiteTables(data_dir / EXCHANGE_TABLES))
    relay = Relay(app, key, clients.producer, trust.current,
                  barrier=gap_barrier(app), dead_letters=DeadLetters(data_dir / RELAY_DEAD_LETTERS),
                  anchors=anchors, deliveries=deliveries, resending=resending)
    inbox = Inbox(  # it opens what is sealed to any sealing key the node still keeps
        app, load_sealing_keys(keys, agency).watching(), trust.current,
        lambda: clients.inbox_consumer(agency), clients.producer, anchors=anchors, signer=key,
        receipts=Receipts(app, key, trust.current, deliveries, anchors), bound=bound,
        parked_bound=parked_bound, stall_seconds=stall_seconds,
    )
    return Exchange(relay, inbox, clients.admin, replication, inbox_partitions,
                    *retention_days, relay_role=relay_role or AlwaysHeld("relay"),
                    undelivered_after=timedelta(seconds=undelivered_after), bootstrap=bootstrap)


def resending(settings: Settings) -> Resending:
    return Resending(timedelta(seconds=settings.resend_after_seconds),
                     timedelta(seconds=settings.resend_longest_seconds))


# -- the nodes ----------------------------------------------------------------

def build_node(
    settings: Settings, clock: Clock | None = None, *,
    app: Homeward | None = None,
    tokens: TokenVerifier | None = None,
    tables: Tables | None = None,
    store: ReadStore | None = None,
    barrier: GapBarrier | None = None,
    exchange: Exchange | None = None,
    roles: Mapping[str, Role] | None = None,
) -> Node:
    """An agency node; `start()` it to run its projections and, with a broker, its
    exchange. Each part left out is the one the settings name; `roles` (relay,
    projections) are those of `replica_roles`."""
    clock = clock or SystemClock()
    keys = secrets_dir(settings)  # an older node's secrets moved out of the data dir first
    app = app or application(settings, clock)
    db = tables or sidecar(settings)
    anchors = Anchors(db)
    models = read_models(app, deadlines_of(settings), store, barrier, clock)
    held = dict(roles) if roles is not None else replica_roles(app)
    deliveries = exchange.relay.deliveries if exchange is not None else None
    if exchange is None and settings.kafka_bootstrap:
        deliveries = Deliveries(db)
        exchange = kafka_exchange(app, settings.agency, settings.home, settings.kafka_bootstrap,
                                  settings.directory, settings.kafka_client(),
                                  replication=settings.kafka_replication,
                                  inbox_partitions=settings.kafka_inbox_partitions,
                                  relay_role=held["relay"], anchors=anchors,
                                  deliveries=deliveries, resending=resending(settings),
                                  bound=HoldingLimits(settings.inbox_held_per_case,
                                                  settings.inbox_held_total), keys=keys,
                                  retention_days=(settings.inbox_retention_days,
                                                  settings.deadletter_retention_days),
                                  parked_bound=ParkingLimits(settings.inbox_parked_per_sender,
                                                           settings.inbox_parked_total),
                                  stall_seconds=settings.inbox_stall_seconds,
                                  undelivered_after=settings.undelivered_after_seconds)
    if exchange is None:
        held.pop("relay", None)  # nothing to relay without a broker
    replays = TableIdempotency(db, keep=timedelta(hours=settings.idempotency_hours))
    access_log = AccessLog(db, app.mapper.cipher, app.keys)
    documents = Documents(db, app.keys, None if settings.is_postgres
                          else settings.home / "documents")
    # The tables' own traces (SQLite's write-ahead log) go last, after every table's rows.
    app.on_erasure += [replays.forget_case, access_log.forget_case, documents.forget_case,
                       lambda _: db.shred()]
    provider = signin_provider(settings)
    node = Node(settings, clock, app, tokens or token_verifier(settings, provider), replays,
                access_log, models, tables=db, exchange=exchange,
                signin=provider, roles=held, anchors=anchors,
                signing=load_or_create(keys, settings.agency),
                trust=DirectoryFile(directory_path(settings.home, settings.directory)).current,
                deliveries=deliveries, documents=documents)
    node.checks["store"] = app.recorder.max_notification_id
    return node


def monitor_store(settings: Settings) -> ReadStore:
    return backend(settings).monitor_store()


def build_monitor(
    settings: Settings, clock: Clock | None = None, *,
    store: ReadStore | None = None,
    tokens: TokenVerifier | None = None,
    gate: MilestoneGate | None = None,
) -> MonitorNode:
    """The monitor node; `start()` it to consume `homeward.monitoring` with a broker."""
    keys = secrets_dir(settings)  # an older node's secrets moved out of the data dir first
    clock = clock or SystemClock()
    store = store if store is not None else monitor_store(settings)
    pushed = Alerts(store, clock.now, retention=timedelta(days=settings.alert_retention_days))
    view = MonitorView(store, escalated=pushed.escalated, written=pushed.written)
    gate = gate or MilestoneGate.of_file(directory_path(settings.home, settings.directory),
                                         load_sealing_keys(keys, "monitor").watching())
    clients = kafka(settings) if settings.kafka_bootstrap else None
    consumer = ((lambda: MilestoneConsumer(lambda: clients.group_consumer(MONITORING, GROUP),
                                           view, gate))
                if clients is not None else None)
    provider = signin_provider(settings)
    return MonitorNode(settings, clock, view,
                       tokens or token_verifier(settings, provider), gate, consumer,
                       signin=provider, pushed=pushed)
