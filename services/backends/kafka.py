"""The Kafka clients of one cluster, made here and nowhere else: the producer, the
consumers (the inbox's, the monitor's, a reader of the dead letters) and the admin
client, with the broker list and any options the cluster needs (SASL, TLS) passed
straight through to kafka-python. The composition root (services/bootstrap.py) makes
one `Kafka` from the settings and hands its factories down.

Only the standard Kafka protocol is used (produce, fetch, consumer groups, CreateTopics),
so the same clients work against the local broker and an Apache Kafka cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from services.exchange.clients import Admin, Consumer, Producer
from services.exchange.kafka_settings import consumer_group_settings
from services.exchange.topics import RECONNECT_BACKOFF_MAX_MS, inbox

# How soon a group's consumer sees a topic made again or with other partitions (a broker
# restarted without its log, a relay's message first to reach it): kafka-python's default
# is five minutes.
METADATA_MAX_AGE_MS = 10_000
# kafka-python's own metrics (sensors recorded at every request, record and response), which
# nothing here reads: off, they cost a node about 0.5-1 ms of CPU less a message exchanged.
METRICS = {"metrics_enabled": False}


@dataclass(frozen=True)
class Kafka:
    bootstrap: str
    client: Mapping[str, Any] = field(default_factory=dict)

    def producer(self) -> Producer:
        """Acks from all in-sync replicas and idempotence (kafka-python 3's defaults,
        stated), and short timeouts so an unreachable broker is an error within seconds,
        not minutes."""
        return KafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
            max_block_ms=5000,
            request_timeout_ms=5000,
            delivery_timeout_ms=10000,
            reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
            **METRICS, **dict(self.client),
        )

    def inbox_consumer(self, agency: str, group: Mapping[str, int] | None = None,
                       fetch_max_wait_ms: int = 50) -> Consumer:
        """A consumer of the agency's inbox in its group, committing only by hand."""
        return KafkaConsumer(
            inbox(agency),
            bootstrap_servers=self.bootstrap,
            group_id=f"homeward-inbox-{agency.lower()}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=100,
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
            reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
            # The broker may hold an empty fetch this long even after a message arrived:
            # kafka-python's 500 ms default is then most of the cross-border latency.
            fetch_max_wait_ms=fetch_max_wait_ms,
            **METRICS, **dict(group if group is not None else consumer_group_settings()),
            **dict(self.client),
        )

    def group_consumer(self, topic: str, group_id: str, **group: int) -> Consumer:
        """A consumer of `topic` in the group `group_id`, committing only by hand, with the
        explicit group timing (`group` overrides it)."""
        return KafkaConsumer(
            topic, bootstrap_servers=self.bootstrap, group_id=group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
            **METRICS, **consumer_group_settings(**group), **dict(self.client),
        )

    def reader(self) -> Consumer:
        """A consumer in no group, assigned its partitions by hand (the dead letters')."""
        return KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", **METRICS, **dict(self.client))

    def admin(self, request_timeout_ms: int = 5000, **options: Any) -> Admin:
        return KafkaAdminClient(bootstrap_servers=self.bootstrap,
                                request_timeout_ms=request_timeout_ms,
                                **options, **dict(self.client))
