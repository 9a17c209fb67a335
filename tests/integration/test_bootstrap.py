"""The composition root: the settings choose each part, and a part given replaces it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_monitor_app
from services.api.identity.auth import TokenVerifier
from services.backends.postgres_reads import PostgresGapBarrier, PostgresReadStore
from services.backends.sqlite_reads import SqliteReadStore
from services.bootstrap import build_monitor, build_node, gap_barrier, read_store_for
from services.clock import FixedClock
from services.notification_log import NoLateCommits
from services.settings import load
from tests.harness.builders import T0
from tests.harness.stores import sqlite_env


def test_a_node_on_sqlite_by_default_and_without_a_broker_no_exchange(tmp_path: Path) -> None:
    node = build_node(load(agency="XA-NRM", data_dir=tmp_path))
    try:
        assert node.app.env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
        assert isinstance(node.read_models.store, SqliteReadStore)
        assert all(isinstance(r.barrier, NoLateCommits) for r in node.read_models.runners)
        assert node.exchange is None
        assert set(node.checks) == {"store"}
    finally:
        node.close()


def test_with_a_broker_the_node_gets_its_relay_and_inbox_unstarted(tmp_path: Path) -> None:
    # Building makes no connection: the Kafka clients are made when the exchange starts.
    settings = load(agency="XA-NRM", data_dir=tmp_path, kafka_bootstrap="127.0.0.1:1")
    node = build_node(settings)
    try:
        assert node.exchange is not None
        clients = node.exchange.admin.__self__  # the factory bootstrap handed down
        assert clients.bootstrap == "127.0.0.1:1"
        assert node.exchange.relay.agency == node.exchange.inbox.agency == "XA-NRM"
        assert (tmp_path / "directory.json").exists() is False  # trust is read, not written
    finally:
        node.close()


def test_each_part_given_replaces_the_one_the_settings_name(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    store = SqliteReadStore(tmp_path / "elsewhere.sqlite")
    barrier = NoLateCommits()
    tokens = TokenVerifier(secret="a test secret of thirty-two bytes!", agency="XA-NRM")
    node = build_node(load(agency="XA-NRM", data_dir=tmp_path), clock, store=store,
                      barrier=barrier, tokens=tokens)
    try:
        assert node.clock is clock and node.app.clock is clock
        assert node.read_models.store is store and node.tokens is tokens
        assert all(r.barrier is barrier and r.store is store for r in node.read_models.runners)
    finally:
        node.close()


def test_the_read_store_and_barrier_follow_the_event_store(tmp_path: Path,
                                                            pg_env: dict[str, str]) -> None:
    sqlite = read_store_for(sqlite_env(tmp_path / "events.sqlite"))
    postgres = read_store_for(pg_env)
    try:
        assert isinstance(sqlite, SqliteReadStore) and isinstance(postgres, PostgresReadStore)
    finally:
        sqlite.close()
        postgres.close()
    node = build_node(load(agency="XA-NRM", data_dir=tmp_path / "pg",
                           database_url=_url(pg_env)))
    try:
        assert isinstance(node.read_models.store, PostgresReadStore)
        assert all(isinstance(r.barrier, PostgresGapBarrier) for r in node.read_models.runners)
        assert isinstance(gap_barrier(node.app), PostgresGapBarrier)
    finally:
        node.close()


def _url(env: dict[str, str]) -> str:
    user, host, port = env["POSTGRES_USER"], env["POSTGRES_HOST"], env["POSTGRES_PORT"]
    return (f"postgresql://{user}@{host}:{port}/{env['POSTGRES_DBNAME']}"
            f"?schema={env['POSTGRES_SCHEMA']}")


def test_the_monitor_consumes_only_with_a_broker(tmp_path: Path) -> None:
    alone = build_monitor(load(agency="monitor", data_dir=tmp_path / "alone"))
    linked = build_monitor(load(agency="monitor", data_dir=tmp_path / "linked",
                                kafka_bootstrap="127.0.0.1:1"))
    try:
        assert alone.consumer is None
        assert linked.consumer is not None
    finally:
        alone.close()
        linked.close()


def test_the_monitor_shares_health_readiness_and_metrics_with_agency_nodes(
    tmp_path: Path,
) -> None:
    node = build_monitor(load(agency="monitor", data_dir=tmp_path))
    client = TestClient(create_monitor_app(node))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "failed": {}}
    assert "homeward_milestones_refused 0.0" in client.get("/metrics").text
    node.close()  # its store closed: not ready, and says which part failed
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["failed"] == {"store": "ProgrammingError"}


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOMEWARD_KAFKA_BOOTSTRAP", "HOMEWARD_DATABASE_URL", "HOMEWARD_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
