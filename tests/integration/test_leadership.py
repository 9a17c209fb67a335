"""One replica at a time holds a role, through a PostgreSQL advisory lock on a connection
of its own: a second waits, takes over within seconds when the holder lets go or its
connection dies, and a holder that lost its connection stops working."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.backends.postgres_reads import conninfo
from services.backends.postgres_roles import AdvisoryLock
from services.bootstrap import build_node
from services.exchange.leadership import AlwaysHeld, lock_key
from services.settings import load
from tests.harness.support import eventsourcing_postgres_env


class Counter:
    """Work that counts how many holders run it at once."""

    def __init__(self) -> None:
        self.running: list[str] = []
        self.most = 0
        self.lock = threading.Lock()

    def work(self, who: str) -> Callable[[threading.Event], None]:
        def run(stop: threading.Event) -> None:
            with self.lock:
                self.running.append(who)
                self.most = max(self.most, len(self.running))
            stop.wait()
            with self.lock:
                self.running.remove(who)
        return run


@contextmanager
def replica(role: AdvisoryLock, work: Callable[[threading.Event], None]
            ) -> Iterator[threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=role.run, args=(work, stop), daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def until(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, "not within the time allowed"
        time.sleep(0.02)
    return time.monotonic() - began


def lock(postgres_url: str, schema: str, name: str = "relay", retry: float = 0.2,
         grace: float | None = 0.2) -> AdvisoryLock:
    env = eventsourcing_postgres_env(postgres_url, schema)
    return AdvisoryLock(conninfo(env), schema, name, retry=retry, check=0.2, grace=grace)


def lock_sessions(postgres_url: str, schema: str) -> set[int]:
    """The server processes of the connections kept for the relay's lock in this store."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                             [f"homeward-relay {schema}"[:63]]).fetchall()
    return {pid for (pid,) in rows}


@pytest.mark.postgres
def test_one_holder_at_a_time_and_the_next_takes_over(postgres_url: str,
                                                      pg_schema: str) -> None:
    first, second = lock(postgres_url, pg_schema), lock(postgres_url, pg_schema)
    counter = Counter()
    with replica(first, counter.work("first")) as stop_first:
        until(first.held)
        with replica(second, counter.work("second")):
            time.sleep(0.5)
            seen = lock_sessions(postgres_url, pg_schema)
            time.sleep(1.0)  # five of its tries, on the connection it keeps
            assert lock_sessions(postgres_url, pg_schema) == seen and len(seen) == 2, seen
            assert counter.running == ["first"] and not second.held()
            stop_first.set()  # the holder stops (a replica shutting down)
            took = until(second.held)
            until(lambda: counter.running == ["second"])
            assert took < 2.0, took
    assert counter.most == 1


@pytest.mark.postgres
def test_a_holder_whose_connection_dies_stops_and_another_takes_over(
        postgres_url: str, pg_schema: str) -> None:
    # The first waits longer after losing the role than the second between its tries. The
    # second, once it has the lock, waits its grace (check + timeout: 3.2 s) before working,
    # by which time the first has noticed that its session is gone and stopped.
    first = lock(postgres_url, pg_schema, retry=5)
    second = lock(postgres_url, pg_schema, grace=None)
    counter = Counter()
    with replica(first, counter.work("first")):
        until(first.held)
        with replica(second, counter.work("second")):
            time.sleep(0.5)
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND classid::bigint = %s AND objid::bigint = %s",
                    [(first.key >> 32) & 0xFFFFFFFF, first.key & 0xFFFFFFFF]).fetchall()
            assert killed == [(True,)]
            took = until(lambda: counter.running == ["second"])
            assert 3.0 < took < 6.0, took
            assert not first.held()  # it let go of its work: no second sender
    assert counter.most == 1


@pytest.mark.postgres
def test_roles_of_two_stores_in_one_database_do_not_wait_for_each_other(
        postgres_url: str, pg_schema: str) -> None:
    other_schema = pg_schema + "_b"
    assert lock_key(pg_schema, "relay") != lock_key(other_schema, "relay")
    assert lock_key(pg_schema, "relay") != lock_key(pg_schema, "projections")
    here, there = lock(postgres_url, pg_schema), lock(postgres_url, other_schema)
    counter = Counter()
    with replica(here, counter.work("here")), replica(there, counter.work("there")):
        until(lambda: here.held() and there.held())


def test_a_one_process_node_holds_its_role_while_it_works() -> None:
    role, stop = AlwaysHeld("relay"), threading.Event()
    seen: list[bool] = []
    thread = threading.Thread(target=role.run, args=(lambda s: seen.append(role.held()), stop))
    thread.start()
    thread.join(timeout=5)
    assert seen == [True] and not role.held()


def ready_roles(client: TestClient) -> dict[str, bool]:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    roles: dict[str, bool] = response.json()["roles"]
    return roles


@pytest.mark.postgres
def test_readyz_names_the_roles_each_replica_holds(tmp_path: Path, postgres_url: str,
                                                   pg_schema: str) -> None:
    url = f"{postgres_url}?schema={pg_schema}"
    first = build_node(load(agency="XA-NRM", data_dir=tmp_path / "a", database_url=url)).start()
    key = first.app.env["CIPHER_KEY"]  # the replicas share the store's key
    second = build_node(load(agency="XA-NRM", data_dir=tmp_path / "b", database_url=url,
                             cipher_key=key)).start()
    try:
        a, b = TestClient(create_app(first)), TestClient(create_app(second))
        until(lambda: ready_roles(a) == {"projections": True})
        time.sleep(1.5)  # the second tries for the role every second
        assert ready_roles(b) == {"projections": False}
    finally:
        first.close()
    until(lambda: ready_roles(b) == {"projections": True})
    second.close()


def test_a_sqlite_node_holds_its_roles(tmp_path: Path) -> None:
    node = build_node(load(agency="XA-NRM", data_dir=tmp_path)).start()
    try:
        client = TestClient(create_app(node))
        until(lambda: ready_roles(client) == {"projections": True})
        assert "homeward_projections_held 1.0" in client.get("/metrics").text
    finally:
        node.close()
