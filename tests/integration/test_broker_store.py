"""The local broker's log in another of tansu's storage engines (`homeward run
--broker-store`): a store the broker's build cannot keep is refused at start, naming the
missing engine; a broker on PostgreSQL, restarted, keeps its messages."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.backends.broker import BrokerError, LocalBroker, broker_binary
from tests.harness.support import free_port

pytestmark = pytest.mark.kafka


def tansu_url(postgres_url: str) -> str:
    """tansu takes `postgres://`, not `postgresql://`."""
    return "postgres://" + postgres_url.split("://", 1)[1]


def without_engine(error: BrokerError) -> bool:
    return "has no postgres storage engine" in str(error)


def test_a_store_the_brokers_build_cannot_keep_is_refused_naming_the_engine(
    tmp_path: Path, postgres_url: str,
) -> None:
    broker = LocalBroker(free_port(), tmp_path, storage=tansu_url(postgres_url),
                         binary=broker_binary(), ready_timeout=10)
    try:
        broker.start()
    except BrokerError as error:
        assert without_engine(error), str(error)
        assert "postgres@" not in str(error)  # the store's address is not repeated
        assert not broker.is_running()
        return
    broker.stop()  # a tansu built with the engine: the next test covers it


def test_a_broker_on_postgres_restarted_keeps_its_messages(
    tmp_path: Path, postgres_url: str,
) -> None:
    port, topic = free_port(), f"homeward.test.{uuid.uuid4().hex[:12]}"
    broker = LocalBroker(port, tmp_path, storage=tansu_url(postgres_url), ready_timeout=10)
    try:
        broker.start()
    except BrokerError as error:
        if without_engine(error):
            pytest.skip(str(error).split(";")[0])
        raise
    try:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        for i in range(5):
            producer.send(topic, key=b"k", value=f"message {i}".encode()).get(timeout=10)
        producer.close()
        broker.stop()
        broker.start()
        reader = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                               consumer_timeout_ms=5000)
        reader.assign([TopicPartition(topic, 0)])
        reader.seek_to_beginning()
        values = [r.value for r in reader]
        reader.close()
        assert values == [f"message {i}".encode() for i in range(5)]
    finally:
        broker.stop()
