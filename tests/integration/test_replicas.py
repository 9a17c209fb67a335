"""An agency node as two replicas (`homeward serve` processes over one PostgreSQL store and
one consumer group) beside its partner node, over the real broker: the replica holding the
relay is killed (SIGKILL) in the middle of the traffic, the other takes the relay over
within seconds, the partner records every fact once, and the survivor's API keeps
answering throughout."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from eventsourcing.cipher import AESCipher

from services.bootstrap import application, mint
from services.contract.codec import is_exported
from services.exchange.directory import publish, save
from services.network.demo_cases import ALL_SCOPES, opening
from services.settings import load
from services.signing import KEY_FILE, SEALING_KEY_FILE, load_or_create
from tests.harness.exchange_nodes import agency_code
from tests.harness.support import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
ROOT = Path(__file__).resolve().parents[2]
TAKEOVER_LIMIT_S = 10.0


class Served:
    """One `homeward serve` process and its URL."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._http = httpx.Client(timeout=2)  # polled often: one client, its certificates once
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", "--port", str(self.port)],
            env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)

    def readyz(self) -> tuple[int, dict[str, Any]]:
        try:
            response = self._http.get(f"{self.url}/readyz")
        except httpx.TransportError:
            return 0, {}
        return response.status_code, response.json()

    def holds(self, role: str) -> bool:
        return bool(self.readyz()[1].get("roles", {}).get(role))

    def ready(self) -> bool:
        assert self.process.poll() is None, f"{self.name} exited: see {self._log.name}"
        return self.readyz()[0] == 200

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._http.close()
        self._log.close()


def until(check: Callable[[], object], timeout: float, what: str) -> float:
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - began


@contextmanager
def served(name: str, env: dict[str, str], log: Path) -> Iterator[Served]:
    node = Served(name, env, log)
    try:
        yield node
    finally:
        node.stop()


class Client:
    def __init__(self, agency: str, secret: str) -> None:
        settings = load(agency=agency, jwt_secret=secret, data_dir=Path("unused"))
        self.headers = {"Authorization": "Bearer " + mint(
            settings, f"{agency.lower()}-worker", ["caseworker", "supervisor"])}
        self._http = httpx.Client()  # one for the test's requests, its certificates once

    def post(self, node: Served, path: str, body: Any, key: str) -> dict[str, Any]:
        response = self._http.post(f"{node.url}{path}", json=body, timeout=30,
                              headers={**self.headers, "Idempotency-Key": key})
        assert response.status_code in (200, 201), (node.name, path, response.text)
        data: dict[str, Any] = response.json()
        return data

    def get(self, node: Served, path: str) -> httpx.Response:
        return self._http.get(f"{node.url}{path}", headers=self.headers, timeout=10)

    def received(self, node: Served, case_id: UUID) -> list[str] | None:
        """The message ids of the facts the node recorded from its partner, or None."""
        response = self.get(node, f"/v1/cases/{case_id}/timeline")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return [e["message_id"] for e in response.json()["events"] if e["message_id"]]


class Watch:
    """Polls a replica from the kill on: when it holds the relay, what its API answers."""

    def __init__(self, node: Served, client: Client) -> None:
        self.node, self.client = node, client
        self.killed_at: float | None = None
        self.took: float | None = None
        self.answers: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Watch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            if self.killed_at is None:
                continue
            if self.took is None and self.node.holds("relay"):
                self.took = time.monotonic() - self.killed_at
            self.answers.append(self.client.get(self.node, "/v1/cases").status_code)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_the_relay_moves_to_the_surviving_replica_and_every_fact_arrives_once(
        tmp_path: Path, kafka_bootstrap: str, postgres_url: str, pg_schema: str) -> None:
    xa, xb = agency_code("XA"), agency_code("XB")
    secrets = {xa: "a" * 40 + xa, xb: "b" * 40 + xb}
    store = f"{postgres_url}?schema={pg_schema}"
    cipher = AESCipher.create_key(num_bytes=32)
    # The trust directory and the keys: both replicas of XA hold the same key files.
    directory = tmp_path / "directory.json"
    publish(directory, load_or_create(tmp_path / "a1.keys", xa))
    save(directory, publish(directory, load_or_create(tmp_path / "b.keys", xb))
         .with_corridor(xa, xb))
    (tmp_path / "a2.keys").mkdir(mode=0o700)
    for name in (KEY_FILE, SEALING_KEY_FILE):
        shutil.copy2(tmp_path / "a1.keys" / name, tmp_path / "a2.keys" / name)

    base = {k: v for k, v in os.environ.items() if not k.startswith("HOMEWARD_")}
    base |= {"HOMEWARD_KAFKA_BOOTSTRAP": kafka_bootstrap, "HOMEWARD_DIRECTORY": str(directory)}
    replica_env = base | {"HOMEWARD_AGENCY": xa, "HOMEWARD_DATABASE_URL": store,
                          "HOMEWARD_CIPHER_KEY": cipher, "HOMEWARD_JWT_SECRET": secrets[xa]}
    a_client, b_client = Client(xa, secrets[xa]), Client(xb, secrets[xb])

    with ExitStack() as stack:
        first = stack.enter_context(served(
            "replica 1", replica_env | {"HOMEWARD_DATA_DIR": str(tmp_path / "a1")},
            tmp_path / "a1.log"))
        until(lambda: first.ready() and first.holds("relay"), 60, "replica 1 ready")
        second = stack.enter_context(served(
            "replica 2", replica_env | {"HOMEWARD_DATA_DIR": str(tmp_path / "a2")},
            tmp_path / "a2.log"))
        partner = stack.enter_context(served(
            "partner", base | {"HOMEWARD_AGENCY": xb, "HOMEWARD_JWT_SECRET": secrets[xb],
                                      "HOMEWARD_DATA_DIR": str(tmp_path / "b")},
            tmp_path / "b.log"))
        until(lambda: second.ready() and partner.ready(), 60, "replica 2 and partner ready")
        # One replica holds each role; both serve and both read the inbox.
        assert first.readyz()[1]["roles"] == {"relay": True, "projections": True}
        assert second.readyz()[1]["roles"] == {"relay": False, "projections": False}

        cases: list[UUID] = []

        def refer(node: Served, n: int) -> None:
            opened = a_client.post(node, "/v1/cases", opening(xb, minor=False), f"open-{n}")
            case_id = UUID(opened["id"])
            a_client.post(node, f"/v1/cases/{case_id}/consent",
                          {"scopes": ALL_SCOPES, "language": "en", "interpreter": False,
                           "given_by": "person"}, f"consent-{n}")
            a_client.post(node, f"/v1/cases/{case_id}/referral", {"note": "Referred."},
                          f"referral-{n}")
            cases.append(case_id)

        def acknowledge(n: int, case_id: UUID) -> None:
            b_client.post(partner, f"/v1/cases/{case_id}/acknowledgement", {
                "contact": {"name": "Desk", "email": "d@xb.example"},
                "deputy": {"name": "Deputy", "email": "e@xb.example"}}, f"ack-{n}")

        def acknowledged(among: list[UUID]) -> bool:
            return all(len(a_client.received(second, c) or []) == 1 for c in among)

        for n in range(10):  # steps through either replica
            refer((first, second)[n % 2], n)
        before = list(cases)
        until(lambda: all(len(b_client.received(partner, c) or []) >= 3 for c in before), 60,
              "the first referrals at the partner")
        watch = Watch(second, a_client).start()  # from the kill on: relay and API
        # The traffic goes on at the survivor; the relay's holder is killed in its midst.
        traffic = threading.Thread(target=lambda: [refer(second, n) for n in range(10, 20)])
        traffic.start()
        until(lambda: len(cases) >= 12, 30, "traffic at the survivor")
        first.process.send_signal(signal.SIGKILL)
        watch.killed_at = killed_at = time.monotonic()
        first.process.wait()
        # The partner answers at once, into inbox partitions the killed replica read.
        for n, case_id in enumerate(before):
            acknowledge(n, case_id)
        traffic.join(timeout=60)
        assert len(cases) == 20, len(cases)
        until(lambda: watch.took is not None, TAKEOVER_LIMIT_S + 5, "relay taken over")
        until(lambda: acknowledged(before), 60, "the partner's answers at the survivor")
        inbox_moved = time.monotonic() - killed_at
        watch.stop()
        print(f"\nrelay taken over {watch.took:.1f} s after its holder was killed; the "
              f"partner's answers all in at the survivor after {inbox_moved:.1f} s; the "
              f"survivor answered {len(watch.answers)} reads meanwhile")
        assert watch.took is not None and watch.took < TAKEOVER_LIMIT_S, watch.took
        assert watch.answers and set(watch.answers) == {200}, watch.answers

        # Every fact XA exported reaches XB, and is recorded there once.
        app = application(load(agency=xa, database_url=store, cipher_key=cipher,
                               data_dir=tmp_path / "check"))
        try:
            exported = {c: sum(1 for e in app.timeline(c) if is_exported(e)) for c in cases}
        finally:
            app.close()
        assert all(count >= 3 for count in exported.values()), exported

        def arrived() -> bool:
            return all(len(b_client.received(partner, c) or []) >= exported[c] for c in cases)

        until(arrived, 60, "every fact at the partner")
        time.sleep(1.0)  # anything sent twice has had time to be recorded twice
        for case_id in cases:
            ids = b_client.received(partner, case_id) or []
            assert len(ids) == len(set(ids)) == exported[case_id], (case_id, ids)

        # The partner answers the rest; XA's inbox is now read by the survivor alone.
        for n, case_id in enumerate(cases[len(before):], start=len(before)):
            acknowledge(n, case_id)
        until(lambda: acknowledged(cases), 60, "every answer at the survivor, once")
        time.sleep(1.0)
        assert acknowledged(cases)
        # The survivor took over the projection worker too: its board shows every case.
        until(lambda: a_client.get(second, "/v1/cases").json()["total"]
              == len(cases), 30, "the board at the survivor")
        assert second.readyz()[1]["roles"] == {"relay": True, "projections": True}
