"""The monitor trusts only milestones signed by an agency of its trust directory, for a
corridor the directory lists and the agency is on. Milestones are made by the real relay
with real Ed25519 keys; the directory is a real file and the view a real SQLite store.
A forged milestone never reaches the corridor view, and its refusal is logged and
counted without anything it carried."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.backends.sqlite_reads import SqliteReadStore
from services.bootstrap import build_monitor
from services.contract.codec import encode, sign
from services.exchange import topics
from services.exchange.admission import Rejected
from services.exchange.directory import Directory, save
from services.exchange.relay import Relay
from services.readside.monitor import MilestoneGate, MonitorView
from services.settings import load
from services.signing import SealingKey, SigningKey, b64url
from tests.harness.builders import CANARY, T0, XA, XB
from tests.harness.referring_node import DEPARTED, ReferringNode
from tests.harness.sealed_wire import sealed_for
from tests.harness.stores import sqlite_env

XC, XD, XE = "XC-NRM", "XD-NRM", "XE-NRM"  # XC: trusted elsewhere; XE: listed nowhere
KEYS = {code: SigningKey.generate(code) for code in (XA, XB, XC, XE)}
MONITOR_KEY = SealingKey.generate("monitor")
HOLDERS = {key.key_id: key for key in KEYS.values()}


def no_broker() -> Any:
    raise AssertionError("these tests build milestones; they never publish")


@dataclass(frozen=True)
class Claiming:
    """Signs with a key of its own under another key's id: a forger's signer."""

    key_id: str
    private: Ed25519PrivateKey

    def sign(self, data: bytes) -> str:
        return b64url(self.private.sign(data))


@dataclass
class Sent:
    """What XA's relay published for one case that has departed."""

    alias: str
    milestones: list[dict[str, Any]]  # to the monitor
    messages: list[dict[str, Any]]  # to XB


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    referring = ReferringNode(sqlite_env(tmp_path_factory.mktemp("xa") / "events.sqlite"))
    case_id = referring.open()  # the person's family name is the canary
    referring.run(case_id, DEPARTED)
    trust = Directory().with_agency(KEYS[XA]).with_agency(KEYS[XB])
    relay = Relay(referring.app, KEYS[XA], no_broker, lambda: trust)
    out = relay.messages(list(referring.app.recorder.select_notifications(1, 1000)))
    referring.app.close()
    yield Sent(str(relay.pseudonyms.monitoring(XA, XB, case_id)),
               [m.envelope for m in out if m.topic == topics.MONITORING],
               [m.envelope for m in out if m.topic == topics.inbox(XB)])


def write_directory(path: Path) -> None:
    directory = Directory()
    for code in (XA, XB, XC):
        directory = directory.with_agency(KEYS[code])
    save(path, directory.with_corridor(XA, XB).with_corridor(XC, XD).with_monitor(MONITOR_KEY))


@pytest.fixture
def view(tmp_path: Path) -> Iterator[MonitorView]:
    view = MonitorView(SqliteReadStore(tmp_path / "monitor.sqlite"))
    yield view
    view.store.close()


@pytest.fixture
def gate(tmp_path: Path) -> MilestoneGate:
    write_directory(tmp_path / "directory.json")
    return MilestoneGate.of_file(tmp_path / "directory.json", MONITOR_KEY)


def wire(message: dict[str, Any], to: SealingKey = MONITOR_KEY) -> bytes:
    """The milestone sealed to the monitor; the sealed envelope is signed by whoever holds
    the key the message names (a stranger's key where nobody listed holds it)."""
    signer = HOLDERS.get(message["integrity"]["key_id"], SigningKey.generate(XE))
    return sealed_for(message, to, signer)


def deliver(gate: MilestoneGate, view: MonitorView, *messages: dict[str, Any]) -> int:
    """What the consumer does with a batch of records, without the broker."""
    records = [(f"monitoring@{i}", wire(m, gate.key)) for i, m in enumerate(messages)]
    return view.record(gate.admit(records))


def arrived(milestone: dict[str, Any]) -> dict[str, Any]:
    """The departure turned into an arrival: a milestone a forger would like counted."""
    return {**milestone, "payload": {**milestone["payload"], "milestone": "arrival-confirmed",
                                     "status": "arrived"}}


def test_genuine_milestones_reach_the_corridor_view(
    gate: MilestoneGate, view: MonitorView, sent: Sent
) -> None:
    # The receiving agency is on the corridor too: its milestones count as well.
    from_xb = sign({**arrived(sent.milestones[-1]), "sender": XB}, KEYS[XB])

    assert deliver(gate, view, *sent.milestones, from_xb) == len(sent.milestones) + 1

    doc = view.store.all("monitor")[sent.alias]
    assert {"departure-confirmed", "arrival-confirmed"} <= set(doc["reached"])
    assert doc["status"] == "arrived"
    [corridor] = view.corridors(T0)
    assert corridor["corridor"] == {"referring": XA, "receiving": XB}
    assert not gate.refused


def forgeries(sent: Sent) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each forgery: the reason it must be refused for, and the message."""
    genuine = sent.milestones[-1]
    impostor = Ed25519PrivateKey.generate()
    claim_xa = Claiming(KEYS[XA].key_id, impostor)
    naming = {**arrived(genuine)["payload"], "corridor": {"referring": XA, "receiving": XD}}
    return {
        "bad-signature": ("bad-signature", sign(arrived(genuine), claim_xa)),
        "tampered-payload": ("bad-signature", arrived(genuine)),
        "unknown-agency": ("unknown-sender", sign({**arrived(genuine), "sender": XE}, KEYS[XE])),
        "unlisted-key": ("unknown-key", sign(arrived(genuine), SigningKey(XA, impostor))),
        "sender-not-on-corridor": ("not-on-corridor",
                                   sign({**arrived(genuine), "sender": XC}, KEYS[XC])),
        "corridor-not-listed": ("no-corridor", sign({**genuine, "payload": naming}, KEYS[XA])),
        "addressed-to-an-agency": ("not-a-milestone",
                                   sign({**arrived(genuine), "recipient": XB}, KEYS[XA])),
        "an-agency-message": ("not-a-milestone",
                              sign({**sent.messages[-1], "recipient": "monitor"}, KEYS[XA])),
        "not-the-schema": ("schema", sign({**genuine, "payload": {**genuine["payload"],
                                                                  "status": CANARY}}, KEYS[XA])),
    }


FORGERIES = ["bad-signature", "tampered-payload", "unknown-agency", "unlisted-key",
             "sender-not-on-corridor", "corridor-not-listed", "addressed-to-an-agency",
             "an-agency-message", "not-the-schema"]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_milestone_never_reaches_the_corridor_view(
    gate: MilestoneGate, view: MonitorView, sent: Sent, forgery: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reason, message = forgeries(sent)[forgery]
    with pytest.raises(Rejected) as refusal:
        gate.check(wire(message))
    assert refusal.value.code == reason

    caplog.set_level(logging.WARNING)
    assert deliver(gate, view, message) == 0
    assert view.store.all("monitor") == {}
    assert view.corridors(T0) == []
    assert gate.refused == {reason: 2}
    assert f"refused: {reason}" in caplog.text


def test_the_forgeries_are_what_the_genuine_milestone_would_be_once_signed(
    gate: MilestoneGate, view: MonitorView, sent: Sent
) -> None:
    # The forged arrival is a milestone the view would take if its signer were trusted:
    # so each refusal above is the gate's doing, not the view's.
    assert deliver(gate, view, sign(arrived(sent.milestones[-1]), KEYS[XA])) == 1
    assert view.store.all("monitor")[sent.alias]["status"] == "arrived"


def test_a_refusal_is_logged_without_anything_the_message_carried(
    gate: MilestoneGate, view: MonitorView, sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    genuine = sent.milestones[-1]
    forged_key = {**genuine, "integrity": {**genuine["integrity"], "key_id": CANARY}}
    forged_status = sign({**genuine, "payload": {**genuine["payload"], "status": CANARY}},
                         KEYS[XA])
    caplog.set_level(logging.WARNING)

    assert deliver(gate, view, forged_key, forged_status) == 0

    assert "refused: unknown-key" in caplog.text and "refused: schema" in caplog.text
    assert CANARY not in caplog.text
    assert gate.refused == {"unknown-key": 1, "schema": 1}


def test_without_a_directory_the_monitor_says_so_once_and_trusts_nobody(
    tmp_path: Path, view: MonitorView, sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    path = tmp_path / "directory.json"
    gate = MilestoneGate.of_file(path, MONITOR_KEY)

    assert deliver(gate, view, *sent.milestones) == 0
    assert view.store.all("monitor") == {}
    assert gate.refused == {"unknown-sender": len(sent.milestones)}
    [warning] = [r for r in caplog.records if "lists no agency" in r.getMessage()]
    assert str(path) in warning.getMessage()

    write_directory(path)  # an operator installs the directory: no restart needed
    assert deliver(gate, view, *sent.milestones) == len(sent.milestones)
    assert sent.alias in view.store.all("monitor")


@pytest.mark.parametrize("where", ["setting", "data-dir"])
def test_the_monitor_node_trusts_the_directory_its_settings_name(
    tmp_path: Path, sent: Sent, where: str
) -> None:
    data_dir = tmp_path / "monitor"
    if where == "setting":  # HOMEWARD_DIRECTORY, as `homeward run` gives it
        path = tmp_path / "shared" / "directory.json"
        settings = load(agency="monitor", data_dir=data_dir, directory=path)
    else:
        path = data_dir / "directory.json"
        settings = load(agency="monitor", data_dir=data_dir)
    write_directory(path)
    node = build_monitor(settings)
    try:
        assert deliver(node.gate, node.view, *sent.milestones) == len(sent.milestones)
        assert deliver(node.gate, node.view, arrived(sent.milestones[-1])) == 0
        assert node.gate.refused == {"bad-signature": 1}
        assert node.view.store.all("monitor")[sent.alias]["status"] == "in_transit"
    finally:
        node.close()


def test_operators_see_how_many_milestones_were_refused(tmp_path: Path, sent: Sent) -> None:
    from fastapi.testclient import TestClient

    from services.api.app import create_monitor_app

    settings = load(agency="monitor", data_dir=tmp_path / "monitor")
    node = build_monitor(settings)
    try:
        client = TestClient(create_monitor_app(node))
        assert "homeward_milestones_refused 0.0" in client.get("/metrics").text
        reason, message = forgeries(sent)["bad-signature"]
        deliver(node.gate, node.view, message)
        assert "homeward_milestones_refused 1.0" in client.get("/metrics").text
    finally:
        node.close()


def from_another_corridor(sent: Sent) -> dict[str, Any]:
    """XC, trusted on its own corridor XC -> XD, names a pseudonym of XA -> XB."""
    arrival = arrived(sent.milestones[-1])
    payload = {**arrival["payload"], "corridor": {"referring": XC, "receiving": XD}}
    return sign({**arrival, "sender": XC, "payload": payload}, KEYS[XC])


def test_a_milestone_for_another_corridor_does_not_move_the_case(
    gate: MilestoneGate, view: MonitorView, sent: Sent, caplog: pytest.LogCaptureFixture,
) -> None:
    assert deliver(gate, view, *sent.milestones) == len(sent.milestones)
    before = view.store.all("monitor")[sent.alias]
    caplog.set_level(logging.WARNING)

    assert deliver(gate, view, from_another_corridor(sent)) == 0

    assert view.store.all("monitor")[sent.alias] == before
    assert before["status"] == "in_transit"
    assert view.refused == {"other-corridor": 1}
    assert "refused" in caplog.text and CANARY not in caplog.text
    [corridor] = view.corridors(T0)
    assert corridor["corridor"] == {"referring": XA, "receiving": XB}


def test_operators_see_cross_corridor_milestones_counted(tmp_path: Path, sent: Sent) -> None:
    from fastapi.testclient import TestClient

    from services.api.app import create_monitor_app

    settings = load(agency="monitor", data_dir=tmp_path / "monitor")
    write_directory(settings.home / "directory.json")
    node = build_monitor(settings)
    try:
        client = TestClient(create_monitor_app(node))
        deliver(node.gate, node.view, *sent.milestones)
        deliver(node.gate, node.view, from_another_corridor(sent))
        assert "homeward_milestones_refused 1.0" in client.get("/metrics").text
    finally:
        node.close()


def test_the_corridor_view_takes_only_tokens_of_agency_monitor(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from services.api.app import create_monitor_app
    from services.api.identity.auth import issue
    from services.bootstrap import jwt_secret

    settings = load(agency="monitor", data_dir=tmp_path / "monitor")
    node = build_monitor(settings)
    secret, now = jwt_secret(settings), datetime.now(UTC)
    try:
        client = TestClient(create_monitor_app(node))

        def status(agency: str) -> int:
            token = issue(secret, "m", agency, ["monitor"], now, 1, "monitor", "monitor")
            return client.get("/v1/monitor/corridors",
                              headers={"Authorization": f"Bearer {token}"}).status_code

        assert status("monitor") == 200
        assert status(XA) == 401  # a listed agency's token with the monitor role: refused
    finally:
        node.close()


def test_no_record_stops_the_gate_and_the_genuine_milestones_after_it_are_counted(
    gate: MilestoneGate, view: MonitorView, sent: Sent,
) -> None:
    genuine = sent.milestones[-1]
    outer = json.loads(sealed_for(genuine, gate.key, KEYS[XA]))
    huge = sign({**outer, "sealed": {**outer["sealed"], "ciphertext": "A" * 900_000}}, KEYS[XA])
    hostile = {"too-deep": b"[" * 3000 + b"]" * 3000, "not-json": b"\xff\x00",
               "empty": None, "not-sealed": b"null", "too-large": encode(huge)}
    records = [(f"monitoring@{i}", value) for i, value in enumerate(hostile.values())]
    records += [("monitoring@9", b'"a string"'), ("monitoring@10", b"")]
    records += [(f"genuine@{i}", wire(m, gate.key)) for i, m in enumerate(sent.milestones)]

    assert view.record(gate.admit(records)) == len(sent.milestones)
    assert gate.refused == {"too-deep": 1, "not-json": 1, "empty": 2, "not-sealed": 2,
                            "too-large": 1}
