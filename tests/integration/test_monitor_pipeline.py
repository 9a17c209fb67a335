"""The monitor node end to end over a real broker: the agency's relay publishes its
milestones, the monitor's consumer builds the corridor view. A canary name recorded
in the case never appears in anything the monitor stores or serves, even when a
message tries to carry it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from kafka import KafkaProducer

from services.backends.broker import LocalBroker
from services.backends.kafka import Kafka
from services.backends.sqlite_reads import SqliteReadStore
from services.contract.codec import encode, sign
from services.exchange import topics
from services.exchange.directory import Directory, save
from services.exchange.relay import Relay
from services.readside.monitor import MilestoneConsumer, MilestoneGate, MonitorView
from services.signing import SealingKey, SigningKey
from tests.harness.builders import CANARY, T0, XA, XB
from tests.harness.referring_node import DEPARTED, ReferringNode
from tests.harness.sealed_wire import sealed_for
from tests.harness.stores import sqlite_env
from tests.harness.support import free_port

pytestmark = pytest.mark.kafka
XA_KEY = SigningKey.generate(XA)
XB_KEY = SigningKey.generate(XB)
MONITOR_KEY = SealingKey.generate("monitor")
TRUST = Directory().with_agency(XA_KEY).with_agency(XB_KEY).with_monitor(MONITOR_KEY)


@pytest.fixture
def monitor(tmp_path: Path, kafka_bootstrap: str) -> Iterator[tuple[MonitorView, MilestoneConsumer]]:
    topics.ensure_topics(Kafka(kafka_bootstrap).admin, [topics.MONITORING])
    directory = tmp_path / "directory.json"
    save(directory, TRUST.with_corridor(XA, XB))
    view = MonitorView(SqliteReadStore(tmp_path / "monitor.sqlite"))
    gate = MilestoneGate.of_file(directory, MONITOR_KEY)
    group = f"monitor-{uuid.uuid4().hex}"
    consumer = MilestoneConsumer(
        lambda: Kafka(kafka_bootstrap).group_consumer(topics.MONITORING, group), view, gate)
    yield view, consumer
    consumer.close()
    view.store.close()


def relayed_departure(tmp_path: Path, bootstrap: str) -> tuple[UUID, str]:
    """A case that departed, its milestones relayed to the monitor's topic: the case and
    the alias the monitor knows it by."""
    referring = ReferringNode(sqlite_env(tmp_path / "events.sqlite"))
    case_id = referring.open()
    referring.run(case_id, DEPARTED)
    relay = Relay(referring.app, XA_KEY, lambda: Kafka(bootstrap).producer(), lambda: TRUST)
    while relay.relay_once():
        pass
    relay.close()
    return case_id, str(relay.pseudonyms.monitoring(XA, XB, case_id))


def hostile_records(bootstrap: str, alias: str) -> None:
    """Messages that try to smuggle the name in: an extra field, a bad key, no JSON; and
    a well-formed arrival signed with a key the directory does not list for XA, sealed."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    payload = {"corridor": {"referring": XA, "receiving": XB}, "kind": "repatriation",
               "milestone": "arrival-confirmed", "status": "arrived",
               "occurred_at": T0.isoformat(), "minor": False}
    after_departure = (T0 + timedelta(days=11)).isoformat()  # so it would set the status
    forger = SigningKey.generate(XA)
    forged = sign({"message_id": str(uuid.uuid4()), "schema": "homeward.milestone.v1",
                   "case_id": alias, "sender": XA, "recipient": "monitor", "sequence": 99,
                   "occurred_at": after_departure, "correlation_id": alias,
                   "causation_id": str(uuid.uuid4()),
                   "payload": {**payload, "occurred_at": after_departure},
                   "integrity": {"prev_hash": "0" * 64, "hash": "0" * 64}},
                  forger)
    for key, value in [
        (alias, sealed_for(forged, MONITOR_KEY, forger)),
        (alias, {"payload": {**payload, "person": {"family_name": CANARY}}}),
        (alias, {"payload": {**payload, "status": CANARY}}),
        (CANARY, {"payload": payload}),
        (alias, CANARY),
    ]:
        raw = encode(value) if isinstance(value, dict) else (
            value if isinstance(value, bytes) else value.encode())
        producer.send(topics.MONITORING, key=key.encode(), value=raw)
    producer.flush()
    producer.close()


def test_the_monitor_sees_milestones_and_an_overdue_arrival_but_never_a_name(
    tmp_path: Path, kafka_bootstrap: str, monitor: tuple[MonitorView, MilestoneConsumer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    view, consumer = monitor
    case_id, alias = relayed_departure(tmp_path, kafka_bootstrap)  # the family name: the canary
    hostile_records(kafka_bootstrap, alias)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        consumer.poll_once(timeout_ms=500)
        doc = view.store.all("monitor").get(alias)
        if doc and "departure-confirmed" in doc["reached"]:
            break
    else:
        pytest.fail("the monitor did not receive the case's milestones")
    time.sleep(1)
    consumer.poll_once(timeout_ms=1000)  # the hostile records come after the relay's

    departed = T0 + timedelta(days=10)
    mine = [c for c in view.corridors(departed + timedelta(hours=15))
            if c["corridor"] == {"referring": XA, "receiving": XB}]
    # Only this agency's relay runs here, so the partner's acknowledgement never reached
    # the monitor and its clocks are overdue too; the hand-off clock is the one to watch.
    def arrival_late(corridors: list[dict[str, object]]) -> list[object]:
        return [o for c in corridors for o in c["overdue"]  # type: ignore[attr-defined]
                if o["case"] == alias and o["clock"] == "confirm arrival"]

    assert arrival_late(mine) == []
    served = view.corridors(departed + timedelta(hours=17))
    [late] = arrival_late(served)
    assert late["owed_by"] == XB  # type: ignore[index]
    assert view.store.all("monitor")[alias]["status"] == "in_transit"  # no forged arrival

    stored = json.dumps(view.store.rows("monitor"))
    assert CANARY not in stored and CANARY not in json.dumps(served)
    assert CANARY not in json.dumps(view.statistics(departed))
    assert str(case_id) not in stored  # only the pseudonym
    assert "refused" in caplog.text and CANARY not in caplog.text  # nor in its logs
    for path in tmp_path.glob("monitor.sqlite*"):
        assert CANARY.encode() not in path.read_bytes()


def test_a_batch_the_monitor_failed_to_store_is_read_again_not_skipped(
    tmp_path: Path, monitor: tuple[MonitorView, MilestoneConsumer], kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view, consumer = monitor
    case_id, alias = relayed_departure(tmp_path, kafka_bootstrap)
    record, failed = view.record, []  # the milestones of the case in the failed batch

    def store_away_once(milestones: list[tuple[str, dict[str, object]]]) -> int:
        if not failed and any(case == alias for case, _ in milestones):
            failed.extend(str(p["milestone"]) for case, p in milestones if case == alias)
            raise RuntimeError("the monitor's store is away")
        return record(milestones)

    monkeypatch.setattr(view, "record", store_away_once)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            consumer.poll_once(timeout_ms=500)
        except RuntimeError:
            continue
        doc = view.store.all("monitor").get(alias)
        if doc and "departure-confirmed" in doc["reached"]:
            break
    assert failed, "the store never failed on this case's milestones"
    doc = view.store.all("monitor").get(alias)
    assert doc is not None and set(failed) <= set(doc["reached"])  # the failed batch, again


def test_after_a_broker_lost_its_log_the_monitor_reads_the_new_one(tmp_path: Path) -> None:
    """The broker restarted empty: the monitor's consumer stands past the end of the new log
    (the local broker answers such fetches with nothing) until it finds itself there and
    rejoins; the milestones sent afterwards are counted."""
    broker = LocalBroker(port=free_port(), log_dir=tmp_path / "broker").start()
    directory = tmp_path / "directory.json"
    save(directory, TRUST.with_corridor(XA, XB))
    view = MonitorView(SqliteReadStore(tmp_path / "monitor.sqlite"))
    group = f"monitor-{uuid.uuid4().hex}"
    consumer = MilestoneConsumer(
        lambda: Kafka(broker.bootstrap).group_consumer(topics.MONITORING, group), view,
        MilestoneGate.of_file(directory, MONITOR_KEY))
    referring = ReferringNode(sqlite_env(tmp_path / "events.sqlite"))

    def relayed(paths: list[str]) -> str:
        case_id = referring.open()
        referring.run(case_id, paths)
        relay = Relay(referring.app, XA_KEY, lambda: Kafka(broker.bootstrap).producer(),
                      lambda: TRUST)
        while relay.relay_once():
            pass
        relay.close()
        return str(relay.pseudonyms.monitoring(XA, XB, case_id))

    def counted(alias: str, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            consumer.poll_once(timeout_ms=500)
            if alias in view.store.all("monitor"):
                return True
        return False

    try:
        topics.ensure_topics(Kafka(broker.bootstrap).admin, [topics.MONITORING], partitions=1)
        assert counted(relayed(DEPARTED), within=60)  # many milestones: far along its log
        broker.stop()
        broker.start()
        topics.ensure_topics(Kafka(broker.bootstrap).admin, [topics.MONITORING], partitions=1)
        assert counted(relayed(["consent"]), within=60)  # a short new log behind it
    finally:
        consumer.close()
        view.store.close()
        broker.stop()
