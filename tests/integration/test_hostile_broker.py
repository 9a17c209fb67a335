"""Over the real broker: whatever anyone produces onto an agency's inbox topic or onto the
monitoring topic, the inbox and the monitor read on. Each kind of malformed record goes,
with a raw producer, onto every partition of the inbox and onto the monitoring topic;
the referrals sent after them reach the partner within seconds and are receipted, the
monitor counts their milestones, and each malformed record is in the agency's dead letters
with its reason."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from services.backends.kafka import Kafka
from services.backends.sqlite_reads import SqliteReadStore
from services.contract.codec import encode, sign
from services.exchange import topics
from services.exchange.directory import DirectoryFile
from services.readside.monitor import MilestoneConsumer, MilestoneGate, MonitorView
from services.signing import SigningKey
from tests.harness.exchange_nodes import (
    Node,
    agency_code,
    alone,
    dead_letters,
    envelopes,
    exactly_once,
    monitor_key,
    receipted_as_recorded,
    wait_until,
)

pytestmark = pytest.mark.kafka
PARTITIONS = 3


def hostile(a: Node, b: Node) -> dict[str, tuple[bytes | None, str]]:
    """Each kind of malformed record for `b`'s inbox: its value and the reason code its
    dead letter must give."""
    genuine = envelopes(a, b)[0]
    outer = json.loads(a.sealed(genuine, b))
    huge = sign({**outer, "sealed": {**outer["sealed"], "ciphertext": "A" * 900_000}}, a.key)
    unopenable = sign({**outer, "sealed": {**outer["sealed"], "ciphertext": "QUJD" * 40}},
                      a.key)
    stranger = SigningKey.generate(a.agency)  # a key the directory never listed for a
    return {
        "nested JSON": (b"[" * 3000 + b"]" * 3000, "too-deep"),
        "garbage bytes": (bytes(range(256)) * 4, "not-json"),
        "empty": (b"", "empty"),
        "no value": (None, "empty"),
        "null": (b"null", "not-sealed"),
        "a JSON string": (b'"homeward.envelope.v2"', "not-sealed"),
        "a 900 kB ciphertext": (encode(huge), "too-large"),
        "a payload that does not open": (encode(unopenable), "unsealable"),
        "a key never listed": (a.sealed(genuine, b, stranger), "unknown-key"),
        "over 1 MiB, which the broker takes": (b"[" * (1 << 20) + b"]" * (1 << 19),
                                               "too-large"),
    }


def produce(bootstrap: str, topic: str, values: list[bytes | None], partitions: int
            ) -> list[tuple[int, int]]:
    """Each value onto each partition, with a key and headers that lie; where each went."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=4 << 20)
    try:
        return [(partition, producer.send(
                    topic, value=value, key=b"\xff" + uuid.uuid4().bytes, partition=partition,
                    headers=[("schema", b"homeward.case-opened.v1"), ("sender", b"XZ-LIAR")],
                ).get(timeout=10).offset)
                for partition in range(partitions) for value in values]
    finally:
        producer.close()


@pytest.fixture
def monitor(nodes: tuple[Node, Node], tmp_path: Path
            ) -> Iterator[tuple[MonitorView, MilestoneGate]]:
    """A monitor reading `homeward.monitoring` from now on, in a group of its own."""
    a, _ = nodes
    topics.ensure_topics(Kafka(a.bootstrap).admin, [topics.MONITORING])
    view = MonitorView(SqliteReadStore(tmp_path / "monitor.sqlite"))
    gate = MilestoneGate(DirectoryFile(a.directory_path).current, monitor_key(a))
    group = f"monitor-{uuid.uuid4().hex}"
    consumer = MilestoneConsumer(
        lambda: Kafka(a.bootstrap).group_consumer(topics.MONITORING, group), view, gate)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    yield view, gate
    stop.set()
    thread.join(timeout=20)
    consumer.close()
    view.store.close()


def test_malformed_records_on_every_partition_stop_neither_the_inbox_nor_the_monitor(
    nodes: tuple[Node, Node], monitor: tuple[MonitorView, MilestoneGate],
) -> None:
    a, b = nodes
    view, gate = monitor
    topics.ensure_topics(Kafka(b.bootstrap).admin, [topics.inbox(b.agency)], partitions=PARTITIONS)
    first = alone(a, b)  # recorded; its messages leave once the relay runs
    records = hostile(a, b)
    values = [value for value, _ in records.values()]
    placed = produce(b.bootstrap, topics.inbox(b.agency), values, PARTITIONS)
    produce(a.bootstrap, topics.MONITORING, values, 1)

    inbox = b.start_inbox()
    a.start_inbox()  # the receipts come back to a
    a.start_relay()
    wait_until(lambda: exactly_once(a, b, first) and receipted_as_recorded(a, b, first),
               timeout=30)
    second = alone(a, b)  # and one referred once the inbox has read past them all
    wait_until(lambda: exactly_once(a, b, second) and receipted_as_recorded(a, b, second),
               timeout=20)
    # Both cases' milestones counted, each under its pseudonym, past the malformed ones.
    wait_until(lambda: len(view.store.all("monitor")) == 2, timeout=30)
    # Each refused and counted (the topic is shared: earlier records are refused too).
    on_monitor = Counter({"too-deep": 1, "not-json": 1, "empty": 2, "not-sealed": 2,
                          "too-large": 2, "sealed-to-another": 1, "unknown-key": 1})
    assert all(gate.refused[code] >= n for code, n in on_monitor.items()), gate.refused

    # Each malformed record dead-lettered with its reason: at least once (a member dropped
    # from its group by a slow poll reads its batch again, and dead-letters it again).
    codes = [code for _, code in records.values()] * PARTITIONS
    expected = {(str(p), str(o), code) for (p, o), code in zip(placed, codes, strict=True)}
    letters = dead_letters(b, expected=len(expected), within=30)
    found = {(dict(r.headers)["source-partition"].decode(),
              dict(r.headers)["source-offset"].decode(), reason.split(":")[0])
             for reason, r in letters}
    assert found == expected
    kept: dict[str, Any] = {reason.split(":")[0]: r.value for reason, r in letters}
    assert kept["unknown-key"] and kept["unsealable"]  # sealed: kept for an operator
    assert kept["too-deep"] == kept["not-json"] == kept["too-large"] == b""
    assert inbox.stalled() is None and inbox.parked == {} and inbox.held == {}


def test_a_partition_that_stands_still_with_records_waiting_makes_the_node_not_ready(
    kafka_bootstrap: str, tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from services.bootstrap import build_node
    from services.exchange.directory import Directory, save
    from services.settings import load
    from services.signing import load_or_create

    agency, partner = agency_code("XA"), SigningKey.generate(agency_code("XB"))
    own = load_or_create(tmp_path, agency)
    directory = tmp_path / "directory.json"
    save(directory, Directory().with_agency(own).with_agency(partner)
         .with_corridor(agency, partner.agency))
    node = build_node(load(agency=agency, data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap,
                           inbox_stall_seconds=1.0))
    try:
        node.start()
        client = TestClient(create_app(node))
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout=30)
        whole = directory.read_bytes()
        directory.write_bytes(whole[: len(whole) // 2])  # a copy caught mid-way
        produce(kafka_bootstrap, topics.inbox(agency), [b'{"envelope": "homeward.envelope.v2"}'],
                1)
        wait_until(lambda: client.get("/readyz").status_code == 503, timeout=30)
        ready = client.get("/readyz").json()
        assert ready["failed"] == {"inbox": "Stalled"}
        assert "has stood at offset 0" in ready["alerts"]["inbox"]
        assert "homeward_inbox_stalled_partitions 1.0" in client.get("/metrics").text

        directory.write_bytes(whole)  # read on: the record is refused, the partition moves
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout=30)
        assert "homeward_inbox_stalled_partitions 0.0" in client.get("/metrics").text
        assert "homeward_inbox_parked 0.0" in client.get("/metrics").text
    finally:
        node.close()
