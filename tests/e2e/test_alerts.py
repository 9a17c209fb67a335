"""Alerts pushed: a subscription on a receiver this test runs on loopback gets an overdue
hand-off (found at an injected clock's time) and an incident in transit, each once,
signed with the subscription's secret, retried after the receiver refused twice, and
nothing personal in any body; the retries survive a restart of the monitor node."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest
from fastapi.testclient import TestClient

from services.alerts.deliveries import GIVE_UP, RETRY_FIRST
from services.api.app import create_monitor_app
from services.api.identity.auth import issue
from services.api.node import MonitorNode
from services.backends.postgres_reads import PostgresReadStore
from services.bootstrap import build_monitor, jwt_secret
from services.clock import FixedClock
from services.readside.store import ReadStore
from services.settings import load
from tests.harness.stores import encrypted

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
XB = {"referring": "XA-NRM", "receiving": "XB-NRM"}
XC = {"referring": "XA-NRM", "receiving": "XC-NRM"}
# Only these may be in a delivery's body: nothing of the person.
BODY_FIELDS = {"id", "event", "corridor", "case", "at", "clock", "incident"}
PROFILE = {"sex": "female", "age_band": "18-24", "citizenship": "XB", "forms": ["labour"]}


class Receiver:
    """Answers 503 to the first `refuse` POSTs, then 200; keeps what it was sent."""

    def __init__(self, refuse: int) -> None:
        self.refuse, self.received = refuse, []  # type: list[tuple[int, dict[str, str], bytes]]
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if len(receiver.received) < receiver.refuse else 200
                receiver.received.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/homeward"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[dict[str, Any]]:
        return [json.loads(body) for status, _, body in self.received if status == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(refuse=2)
    yield r
    r.server.shutdown()
    r.server.server_close()


def milestone(case: str, corridor: dict[str, str], name: str, status: str, at: datetime,
              **extra: Any) -> tuple[str, dict[str, Any]]:
    return str(uuid5(NAMESPACE_URL, case)), {
        "corridor": corridor, "kind": "repatriation", "milestone": name, "status": status,
        "occurred_at": at.isoformat(), "minor": False, **PROFILE, **extra}


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    t, v1 = (part.split("=", 1)[1] for part in headers["Homeward-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(v1, expected)


Stores = Callable[[], ReadStore | None]  # None: the settings' store (SQLite)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "sqlite":
        return lambda: None
    env = encrypted(request.getfixturevalue("pg_env"))
    return lambda: PostgresReadStore.from_env(env)


def node_at(tmp_path: Path, clock: FixedClock, stores: Stores = lambda: None) -> MonitorNode:
    return build_monitor(load(agency="monitor", data_dir=tmp_path / "monitor"), clock,
                         store=stores())


def test_alerts_are_pushed_signed_once_and_retried_across_a_restart(
        tmp_path: Path, receiver: Receiver, stores: Stores) -> None:
    clock = FixedClock(NOW)
    node = node_at(tmp_path, clock, stores)
    settings = node.settings
    monitor = {"Authorization": "Bearer " + issue(jwt_secret(settings), "m-1", "monitor",
                                                  ["monitor"], datetime.now(UTC))}
    with TestClient(create_monitor_app(node)) as client:
        made = client.post("/v1/monitor/subscriptions", headers=monitor, json={
            "url": receiver.url, "events": ["handoff-overdue", "transit-incident"],
            "corridors": ["XA-NRM:XB-NRM"]})
        assert made.status_code == 201, made.text
        sid, secret = made.json()["id"], made.json()["secret"]
        assert len(secret) == 64
        # The secret is returned once: never read back.
        assert "secret" not in client.get(f"/v1/monitor/subscriptions/{sid}",
                                          headers=monitor).json()
        assert all("secret" not in s for s in client.get("/v1/monitor/subscriptions",
                                                         headers=monitor).json())
    node.view.record([
        # Departed, expected at 11:00: the arrival is owed by 23:00 (12 hours later).
        milestone("handoff", XB, "departure-confirmed", "in_transit", NOW,
                  due_at=(NOW + timedelta(hours=2)).isoformat()),
        milestone("missing", XB, "transit-incident-recorded", "on_hold", NOW,
                  incident="missing"),
        # Another corridor's incident: not asked for.
        milestone("elsewhere", XC, "transit-incident-recorded", "on_hold", NOW,
                  incident="missing"),
    ])
    assert node.pushed is not None
    assert node.pushed.tick() == 1  # the incident, refused (503)
    clock.advance(seconds=4)
    assert node.pushed.tick() == 0  # the first retry waits about 5 seconds
    node.close()

    # A restart: the delivery is in the store and goes on.
    clock = FixedClock(NOW + RETRY_FIRST)
    node = node_at(tmp_path, clock, stores)
    assert node.pushed is not None
    assert node.pushed.tick() == 1  # refused again
    clock.advance(seconds=2 * RETRY_FIRST.total_seconds() - 1)
    assert node.pushed.tick() == 0  # doubling: 10 seconds this time
    clock.advance(seconds=1)
    assert node.pushed.tick() == 1  # accepted
    assert [b["event"] for b in receiver.accepted()] == ["transit-incident"]

    clock.at = NOW + timedelta(hours=17)  # 3 hours past the arrival's clock
    node.view.record([milestone("missing", XB, "transit-incident-recorded", "on_hold", NOW,
                                incident="missing")])  # redelivered: nothing new
    assert node.pushed.tick() == 1
    for _ in range(3):
        clock.advance(minutes=10)
        assert node.pushed.tick() == 0  # each alert once
    accepted = receiver.accepted()
    assert [b["event"] for b in accepted] == ["transit-incident", "handoff-overdue"]
    incident, overdue = accepted
    assert incident["incident"] == "missing" and incident["corridor"] == XB
    assert incident["case"] == str(uuid5(NAMESPACE_URL, "missing"))
    assert overdue["clock"] == "confirm arrival"
    assert overdue["at"] == (NOW + timedelta(hours=14)).isoformat()
    assert overdue["case"] == str(uuid5(NAMESPACE_URL, "handoff"))

    # Every request signed with the secret over "<t>.<body>"; a changed body fails.
    assert len(receiver.received) == 4
    for _, headers, body in receiver.received:
        assert verified(secret, headers, body)
        assert not verified(secret, headers, body.replace(b"XB-NRM", b"XC-NRM"))
        assert not verified("0" * 64, headers, body)
        sent = json.loads(body)
        assert set(sent) <= BODY_FIELDS
        for value in ("female", "18-24", "labour", '"XB"'):
            assert value not in body.decode()

    with TestClient(create_monitor_app(node)) as client:
        deliveries = client.get(f"/v1/monitor/subscriptions/{sid}/deliveries",
                                headers=monitor).json()
        assert [[a["status"] for a in d["attempts"]] for d in deliveries] == [
            [503, 503, 200], [200]]
        attempted = [a["at"] for a in deliveries[0]["attempts"]]
        assert attempted == [NOW.isoformat(), (NOW + RETRY_FIRST).isoformat(),
                             (NOW + 3 * RETRY_FIRST).isoformat()]
        ended = client.delete(f"/v1/monitor/subscriptions/{sid}", headers=monitor)
        assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    node.view.record([milestone("again", XB, "transit-incident-recorded", "on_hold",
                                clock.now(), incident="detained")])
    clock.advance(minutes=1)
    assert node.pushed.tick() == 0  # ended: nothing more is sent
    assert len(receiver.received) == 4
    node.close()


def test_a_delivery_never_accepted_is_given_up_after_a_day(tmp_path: Path) -> None:
    receiver = Receiver(refuse=10_000)
    try:
        clock = FixedClock(NOW)
        node = node_at(tmp_path, clock)
        assert node.pushed is not None
        node.pushed.subscriptions.create({"url": receiver.url, "events": ["transit-incident"]},
                                         NOW)
        node.view.record([milestone("missing", XB, "transit-incident-recorded", "on_hold",
                                    NOW, incident="missing")])
        waits = []
        while node.pushed.deliveries.due() or not waits:
            assert node.pushed.tick() == 1
            (delivery,) = node.pushed.deliveries.store.all("alert_deliveries").values()
            if delivery["gave_up_at"]:
                break
            waits.append(datetime.fromisoformat(delivery["next_at"]) - clock.now())
            clock.at = datetime.fromisoformat(delivery["next_at"])
        assert waits[:4] == [RETRY_FIRST * n for n in (1, 2, 4, 8)]
        assert delivery["gave_up_at"] is not None
        assert clock.now() - NOW <= GIVE_UP
        assert len(delivery["attempts"]) == len(waits) + 1 == 15
        node.close()
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.mark.parametrize("body, field", [
    ({"url": "http://alerts.example.org/hook", "events": ["transit-incident"]}, "url"),
    ({"url": "https://user:pw@alerts.example.org/", "events": ["transit-incident"]}, "url"),
    ({"url": "ftp://alerts.example.org/", "events": ["transit-incident"]}, "url"),
    ({"url": "https://alerts.example.org/", "events": []}, "events"),
    ({"url": "https://alerts.example.org/", "events": ["case-opened"]}, "events"),
    ({"url": "https://alerts.example.org/", "events": ["transit-incident"],
      "corridors": ["XA-NRM"]}, "corridors"),
    ({"url": "https://alerts.example.org/", "events": ["transit-incident"], "name": "x"},
     "name"),
])
def test_a_bad_subscription_is_refused_with_its_field(tmp_path: Path, body: dict[str, Any],
                                                      field: str) -> None:
    node = node_at(tmp_path, FixedClock(NOW))
    secret = jwt_secret(node.settings)
    monitor = {"Authorization": "Bearer " + issue(secret, "m-1", "monitor", ["monitor"],
                                                  datetime.now(UTC))}
    caseworker = {"Authorization": "Bearer " + issue(secret, "x-1", "XA-NRM", ["caseworker"],
                                                     datetime.now(UTC))}
    with TestClient(create_monitor_app(node)) as client:
        refused = client.post("/v1/monitor/subscriptions", headers=monitor, json=body)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == f"body.{field}"
        assert client.post("/v1/monitor/subscriptions", json=body).status_code == 401
        assert client.post("/v1/monitor/subscriptions", headers=caseworker,
                           json=body).status_code == 401
        assert client.post("/v1/monitor/subscriptions", headers=monitor,
                           content=b"[1,2]").status_code == 422
        assert client.get("/v1/monitor/subscriptions/nope/deliveries",
                          headers=monitor).status_code == 404
        assert client.get("/v1/monitor/subscriptions", headers=monitor).json() == []
    node.close()
