"""An inbox left past the end of its partition's log (a broker that lost the log, and
answers fetches there with nothing) rejoins its group and reads from its committed offset
again; judged by the fetches' high watermark, not by ListOffsets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from services.backends.kafka import Kafka
from services.exchange import partitions as partitions_module
from services.exchange import topics
from tests.harness.exchange_nodes import pair, wait_until

pytestmark = pytest.mark.kafka


def test_an_inbox_left_past_the_end_of_its_log_rejoins_its_group(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(partitions_module, "POSITION_CHECK_SECONDS", 0.3)
    a, b = pair(tmp_path, kafka_bootstrap)
    topics.ensure_topics(Kafka(b.bootstrap).admin, [topics.inbox(b.agency), topics.deadletter(b.agency)])
    inbox = b.exchange().inbox
    partition = TopicPartition(topics.inbox(b.agency), 0)
    try:
        wait_until(lambda: inbox.poll_once() >= 0 and inbox.assigned, timeout=30)
        consumer = inbox.partitions.consumer
        assert isinstance(consumer, KafkaConsumer)
        end = consumer.end_offsets([partition])[partition]
        consumer.seek(partition, end + 50)  # where a broker that lost its log leaves it
        deadline = time.monotonic() + 20
        while inbox.rejoins == 0 and time.monotonic() < deadline:
            inbox.poll_once()
        assert inbox.rejoins == 1
        wait_until(lambda: inbox.poll_once() >= 0 and inbox.assigned, timeout=30)
        consumer = inbox.partitions.consumer
        assert consumer is not None and consumer.position(partition) <= end
    finally:
        inbox.close()
        a.close()
        b.close()
