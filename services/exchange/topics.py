"""The Kafka topics of CONTRACT.md, and their creation.

Only the standard Kafka protocol is used (produce, fetch, consumer groups, CreateTopics),
so the same code runs against the local broker and an Apache Kafka cluster. The
clients are made in services/backends/kafka.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.exchange.clients import MakeAdmin

MONITORING = "homeward.monitoring"
log = logging.getLogger(__name__)


def inbox(agency: str) -> str:
    return f"homeward.inbox.{agency.lower()}"


def deadletter(agency: str) -> str:
    return f"homeward.deadletter.{agency.lower()}"


def headers(schema: str, message_id: str, sender: str) -> list[tuple[str, bytes]]:
    return [("schema", schema.encode()), ("message-id", message_id.encode()),
            ("sender", sender.encode())]


# kafka-python backs off up to 30 s between reconnects by default; after a broker outage
# the exchange should resume within about a second of the broker's return.
RECONNECT_BACKOFF_MAX_MS = 1000


DAY_MS = 24 * 60 * 60 * 1000


def retention_ms(days: int) -> int:
    return days * DAY_MS


def new_topic(name: str, replication: int = 1, partitions: int = 1,
              retention_days: int | None = None) -> NewTopic:
    """The topic as the node asks for it: with `retention.ms` when a retention is given
    (the inbox's and the dead letters': how long the broker keeps a case's sealed copies
    after its erasure), else the broker's default."""
    configs = {"retention.ms": str(retention_ms(retention_days))} if retention_days else {}
    return NewTopic(name, num_partitions=partitions, replication_factor=replication,
                    topic_configs=configs)


def ensure_topics(
    admin: MakeAdmin, names: Iterable[str], replication: int = 1, partitions: int = 1,
    retention_days: int | None = None,
) -> None:
    """Creates the topics that do not exist yet, with `partitions` partitions each on
    `replication` brokers (HOMEWARD_KAFKA_REPLICATION; 1 suits only the local broker), and
    `retention_days` as their `retention.ms`. A topic that exists keeps its partitions and
    its retention. Where ACLs forbid it, the operator has created them (infra/), so a
    refusal is logged, not raised."""
    client = admin()
    try:
        for name in names:
            try:
                client.create_topics([new_topic(name, replication, partitions, retention_days)])
            except TopicAlreadyExistsError:
                pass
            except KafkaError as error:
                log.warning("could not create topic %s: %r", name, error)
    finally:
        client.close()
