"""A real broker over the real wire protocol: topics, keys, headers, consumer groups."""

from __future__ import annotations

import os
import socket
import stat
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicDeletionDisabledError

from services.backends.broker import BrokerError, LocalBroker, port_is_free
from services.exchange.kafka_settings import consumer_group_settings
from tests.harness.support import free_port

CASES = ["case-a", "case-b", "case-c", "case-d"]
STEPS_PER_CASE = 5


def create_topic(bootstrap: str, partitions: int = 3) -> str:
    topic = f"homeward.test.{uuid.uuid4().hex[:12]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()
    return topic


def send(bootstrap: str, topic: str, messages: list[tuple[str, int]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        for case_id, sequence in messages:
            producer.send(
                topic,
                key=case_id.encode(),
                value=f"{case_id}:{sequence}".encode(),
                headers=[
                    ("schema", b"homeward.referral-sent.v1"),
                    ("message-id", f"{case_id}-{sequence}".encode()),
                    ("sender", b"XA-NRM"),
                ],
            ).get(timeout=10)
    finally:
        producer.close()


def group_consumer(bootstrap: str, topic: str, group: str) -> KafkaConsumer:
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **consumer_group_settings(),
    )


def receive(consumer: KafkaConsumer, expected: int, within: float = 30.0) -> list[Any]:
    records: list[Any] = []
    deadline = time.monotonic() + within
    while len(records) < expected and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    return records


@pytest.mark.kafka
def test_a_consumer_group_receives_keys_headers_and_per_case_order(kafka_bootstrap: str) -> None:
    topic = create_topic(kafka_bootstrap)
    sent = [(case_id, seq) for seq in range(1, STEPS_PER_CASE + 1) for case_id in CASES]
    send(kafka_bootstrap, topic, sent)

    consumer = group_consumer(kafka_bootstrap, topic, group=f"inbox-{uuid.uuid4().hex[:8]}")
    try:
        records = receive(consumer, expected=len(sent))
    finally:
        consumer.close()

    assert len(records) == len(sent)
    by_case: dict[str, list[int]] = {}
    partition_of: dict[str, set[int]] = {}
    for record in records:
        case_id = record.key.decode()
        value_case, sequence = record.value.decode().split(":")
        assert value_case == case_id
        headers = dict(record.headers)
        assert headers["schema"] == b"homeward.referral-sent.v1"
        assert headers["message-id"] == f"{case_id}-{sequence}".encode()
        assert headers["sender"] == b"XA-NRM"
        by_case.setdefault(case_id, []).append(int(sequence))
        partition_of.setdefault(case_id, set()).add(record.partition)
    assert by_case == {case_id: list(range(1, STEPS_PER_CASE + 1)) for case_id in CASES}
    # The case id is the key, so one case never spreads over partitions.
    assert all(len(partitions) == 1 for partitions in partition_of.values())


@pytest.mark.kafka
def test_a_restarted_group_member_resumes_after_its_committed_offsets(
    kafka_bootstrap: str,
) -> None:
    topic = create_topic(kafka_bootstrap, partitions=1)
    group = f"inbox-{uuid.uuid4().hex[:8]}"
    send(kafka_bootstrap, topic, [("case-a", 1), ("case-a", 2)])
    first = group_consumer(kafka_bootstrap, topic, group)
    try:
        assert [r.value for r in receive(first, expected=2)] == [b"case-a:1", b"case-a:2"]
        first.commit()
    finally:
        first.close()

    send(kafka_bootstrap, topic, [("case-a", 3)])
    second = group_consumer(kafka_bootstrap, topic, group)
    try:
        records = receive(second, expected=1)
    finally:
        second.close()
    # One partition keeps order: had the commit been lost, case-a:1 would come first.
    assert [r.value for r in records] == [b"case-a:3"]


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.kafka
def test_the_local_broker_stops_cleanly(tmp_path: Path) -> None:
    broker = LocalBroker(port=free_port(), log_dir=tmp_path)
    with broker:
        pid = broker.pid
        assert pid is not None and process_exists(pid)
        assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        assert broker.port is not None and not port_is_free(broker.port)
    assert not broker.is_running()
    assert not process_exists(pid), "the broker process is still there (or a zombie)"
    assert port_is_free(broker.port)
    assert "listening on" in broker.log_path.read_text()
    broker.stop()  # stopping twice is harmless


@pytest.mark.kafka
def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        broker = LocalBroker(port=squatter.getsockname()[1], log_dir=tmp_path)
        with pytest.raises(BrokerError, match="port .* is in use"):
            broker.start()
    assert not broker.is_running()


def test_a_broker_that_never_answers_times_out_and_is_stopped(tmp_path: Path) -> None:
    silent = tmp_path / "silent-broker"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(silent.stat().st_mode | stat.S_IXUSR)
    broker = LocalBroker(port=free_port(), log_dir=tmp_path, ready_timeout=1.0, binary=str(silent))
    with pytest.raises(BrokerError, match="did not answer the Kafka protocol within 1s"):
        broker.start()
    assert not broker.is_running()
    assert broker.pid is None


def test_a_broker_that_dies_at_start_says_so_with_its_log(tmp_path: Path) -> None:
    failing = tmp_path / "failing-broker"
    failing.write_text("#!/bin/sh\necho 'cannot bind' >&2\nexit 3\n")
    failing.chmod(failing.stat().st_mode | stat.S_IXUSR)
    broker = LocalBroker(port=free_port(), log_dir=tmp_path, binary=str(failing))
    with pytest.raises(BrokerError, match="(?s)failed at start.*cannot bind"):
        broker.start()


def test_a_broker_that_panics_at_start_fails_fast(tmp_path: Path) -> None:
    # tansu keeps running after a worker thread panics (e.g. address in use): no waiting.
    panicking = tmp_path / "panicking-broker"
    panicking.write_text("#!/bin/sh\necho \"thread 'tokio-rt-worker' panicked\"\nexec sleep 60\n")
    panicking.chmod(panicking.stat().st_mode | stat.S_IXUSR)
    broker = LocalBroker(port=free_port(), log_dir=tmp_path, binary=str(panicking))
    started = time.monotonic()
    with pytest.raises(BrokerError, match="(?s)failed at start.*panicked"):
        broker.start()
    assert time.monotonic() - started < broker.ready_timeout / 2  # it did not wait it out
    assert not broker.is_running()


def test_an_inbox_a_relay_created_first_is_made_again_with_its_partitions(
        tmp_path: Path) -> None:
    # After a restart of the local broker, a relay's first message can reach it before
    # `homeward run` makes the topics again; the broker then creates the partner's inbox
    # with its own count of partitions, which the network replaces.
    from services.exchange.topics import inbox
    from services.network.embedded import remake_inbox

    with LocalBroker(port=free_port(), log_dir=tmp_path) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        producer.send(inbox("XB-NRM"), b"first").get(timeout=10)
        producer.close()
        reader = KafkaConsumer(bootstrap_servers=broker.bootstrap)
        try:
            assert reader.partitions_for_topic(inbox("XB-NRM")) not in (None, {0, 1, 2})
            remake_inbox(broker, "XB-NRM", partitions=3, retention_days=7)
            reader.close()
            reader = KafkaConsumer(bootstrap_servers=broker.bootstrap)
            assert reader.partitions_for_topic(inbox("XB-NRM")) == {0, 1, 2}
        finally:
            reader.close()


class _Refusing:
    """An admin client of the real broker that refuses to delete topics (ACLs, say)."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin

    def delete_topics(self, names: list[str]) -> None:
        raise TopicDeletionDisabledError(f"deleting {names} is disabled")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.admin, name)


def test_an_inbox_that_cannot_be_made_again_is_reported_and_the_network_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.backends.kafka import Kafka
    from services.exchange.topics import inbox
    from services.network.embedded import remake_inbox

    with LocalBroker(port=free_port(), log_dir=tmp_path) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        producer.send(inbox("XB-NRM"), b"first").get(timeout=10)
        producer.close()
        real = Kafka.admin
        monkeypatch.setattr(Kafka, "admin", lambda self, *a, **k: _Refusing(real(self, *a, **k)))
        assert remake_inbox(broker, "XB-NRM", partitions=3, retention_days=7,
                            attempts=2) is False
        said = capsys.readouterr().out
        assert "the inbox of XB-NRM could not be made again with 3 partitions" in said
        assert "TopicDeletionDisabledError" in said


def test_the_nodes_clients_keep_no_metrics_of_their_own(kafka_bootstrap: str) -> None:
    # kafka-python records sensors at every request and record, which nothing reads: a
    # node's clients are made without them (services/backends/kafka.py).
    from services.backends.kafka import Kafka

    clients = Kafka(kafka_bootstrap)
    made = [clients.producer(), clients.inbox_consumer("XA-NRM"),
            clients.group_consumer("homeward.monitoring", "metrics-test"), clients.reader()]
    try:
        for client in made:
            assert client.config["metrics_enabled"] is False
            assert not client.metrics()  # None, or nothing recorded
    finally:
        for client in made:
            client.close()
