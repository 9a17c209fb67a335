"""The inbox: the partner's messages in, as received facts in this agency's stream.

Like the HTTP route, it only turns primitives into a command on the application
(`Homeward.receive`); what it adds is trust, in `admission`: schemas, signature,
corridor, then the domain's own checks, with the message id recorded in the same save.

A message that fails goes to `homeward.deadletter.<me>` with its reason (codes and field
paths, never a value) and the consumer carries on; the dead letter keeps the message only
if it is sealed (unreadable but to this agency), else nothing of it. A message recorded
before (normal under at-least-once delivery) is counted and skipped, not dead-lettered.
A message ahead of its predecessor is held until the predecessor is applied, and no offset
is committed past a held message, so a crash loses nothing.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata

from services.anchors.checkpoint import Signer
from services.anchors.store import Anchors
from services.application import Homeward, OutOfSequence
from services.contract.codec import decode
from services.exchange import topics
from services.exchange.admission import Admission, Fact, Rejected
from services.exchange.directory import Directory
from services.exchange.sealing import is_sealed
from services.signing import SealingKey

log = logging.getLogger(__name__)
POSITION_CHECK_SECONDS = 5.0


class Inbox:
    def __init__(
        self, app: Homeward, key: SealingKey, directory: Callable[[], Directory],
        consumer: Callable[[], KafkaConsumer], producer: Callable[[], KafkaProducer],
        ack_timeout: float = 10.0, anchors: Anchors | None = None,
        signer: Signer | None = None,
    ) -> None:
        self.app, self.agency = app, key.owner
        self.admission = Admission(app, key, directory, anchors, signer)
        self._new_consumer, self._new_producer = consumer, producer
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self.ack_timeout = ack_timeout
        self.held: dict[tuple[UUID, str, int], tuple[ConsumerRecord, Fact]] = {}
        self.applied = self.dead = self.duplicates = 0
        self._checked = time.monotonic()
        self._partitions: set[int] | None = None
        self.assigned = False  # the group gave this member its partitions (readiness)

    # -- one message ---------------------------------------------------------

    def verify(self, value: bytes) -> Fact:
        return self.admission.verify(value)

    def apply(self, fact: Fact) -> None:
        self.admission.apply(fact)

    def handle(self, record: ConsumerRecord) -> str:
        """`applied`, `held`, `duplicate` or `dead`: what became of the record. A record
        applied releases its held successors, in order."""
        outcome, fact = self._handle_one(record)
        released = fact if outcome == "applied" else None
        while released is not None:
            r = released.received
            key = (released.case_id, r.sender, r.sequence + 1)
            successor = self.held.pop(key, None)
            if successor is None:
                break
            try:
                then, released = self._handle_one(successor[0])
            except BaseException:
                self.held[key] = successor  # not handled: it stays held
                raise
            released = released if then == "applied" else None
        return outcome

    def _handle_one(self, record: ConsumerRecord) -> tuple[str, Fact | None]:
        fact: Fact | None = None
        try:
            fact = self.verify(record.value)
            self.apply(fact)
        except OutOfSequence:
            assert fact is not None
            r = fact.received
            self.held[(fact.case_id, r.sender, r.sequence)] = (record, fact)
            return "held", fact
        except Rejected as rejected:
            if rejected.code == "duplicate":
                log.info("inbox: offset %s was recorded before", record.offset)
                self.duplicates += 1
                return "duplicate", fact
            self.dead_letter(record, rejected.reason)
            return "dead", fact
        except PersistenceError:
            raise  # the store is away, not the message: it is read again (see poll_once)
        except Exception as error:  # never stop on one message; an operator sees where
            # The exception's text may quote the message: its type and stack only.
            log.error("inbox: unexpected %s on offset %s:\n%s", type(error).__name__,
                      record.offset, "".join(traceback.format_tb(error.__traceback__)))
            self.dead_letter(record, f"error: {type(error).__name__}")
            return "dead", fact
        self.applied += 1
        return "applied", fact

    def dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.warning("inbox: dead letter at offset %s: %s", record.offset, reason)
        if self._producer is None:
            self._producer = self._new_producer()
        self._producer.send(
            topics.deadletter(self.agency), key=record.key, value=sealed_only(record.value),
            headers=[("reason", reason.encode()), ("source-topic", record.topic.encode()),
                     ("source-offset", str(record.offset).encode())],
        ).get(timeout=self.ack_timeout)
        self.dead += 1

    # -- the stream ------------------------------------------------------------

    def poll_once(self, timeout_ms: int = 100) -> int:
        """Handles one poll's records and commits; returns how many it handled."""
        if self._consumer is None:
            self._consumer = self._new_consumer()
        batches = self._consumer.poll(timeout_ms=timeout_ms)
        self.assigned = bool(self._consumer.assignment())
        if not batches and time.monotonic() - self._checked > POSITION_CHECK_SECONDS:
            self._check_positions()
        handled = 0
        unfinished = dict(batches)
        for partition, records in batches.items():
            for record in records:
                try:
                    self.handle(record)
                except BaseException:
                    # Not handled (store or broker away): read it again, and what followed.
                    self._rewind(unfinished, partition, record.offset)
                    raise
                handled += 1
            self._commit(partition, records[-1].offset + 1)
            del unfinished[partition]
        return handled

    def _rewind(self, unfinished: dict[TopicPartition, list[ConsumerRecord]],
                failed: TopicPartition, offset: int) -> None:
        assert self._consumer is not None
        for partition, records in unfinished.items():
            self._consumer.seek(partition, offset if partition == failed else records[0].offset)

    def _check_positions(self) -> None:
        """A broker that lost its log (restarted without storage; an unclean leader
        election) or a re-partitioned inbox can leave this member waiting for ever: past
        the end of a partition, or never assigned the partition that now holds its
        messages. Then it rejoins afresh and reads from the committed offsets (or the
        start): facts already recorded are recognised, so re-reading is harmless."""
        self._checked = time.monotonic()
        assert self._consumer is not None
        assigned = list(self._consumer.assignment())
        if not assigned:
            return
        known = self._consumer.partitions_for_topic(topics.inbox(self.agency)) or set()
        if self._partitions is not None and known != self._partitions:
            return self._rejoin(f"the inbox now has partitions {sorted(known)}")
        self._partitions = known
        ends = self._consumer.end_offsets(assigned)
        for partition in assigned:
            end = ends.get(partition)
            if end is not None and self._consumer.position(partition) > end:
                return self._rejoin(f"{partition} is past the end of its log ({end})")

    def _rejoin(self, why: str) -> None:
        log.warning("inbox: %s: rejoining the group", why)
        consumer, self._consumer, self._partitions = self._consumer, None, None
        if consumer is not None:
            consumer.close(autocommit=False)

    def _commit(self, partition: TopicPartition, after_last: int) -> None:
        held = [rec.offset for rec, _ in self.held.values()
                if (rec.topic, rec.partition) == (partition.topic, partition.partition)]
        # Never past a held message: after a crash it must be read again.
        offset = min([*held, after_last])
        assert self._consumer is not None
        self._consumer.commit({partition: OffsetAndMetadata(offset, "", -1)})

    def run(self, stop: threading.Event, backoff: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as error:  # the broker is away: keep trying, lose nothing
                log.warning("inbox: %r; retrying", error)
                stop.wait(backoff)
        self.close()

    def close(self, commit: bool = False) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        if consumer is not None:
            consumer.close(autocommit=commit)
        if producer is not None:
            producer.close(timeout=1)


def sealed_only(value: bytes | None) -> bytes:
    """What a dead letter keeps of a message: the sealed envelope as received, or nothing
    (a message in clear, or no JSON at all, may hold anything)."""
    try:
        return value if value is not None and is_sealed(decode(value)) else b""
    except (ValueError, UnicodeDecodeError):
        return b""


def consumer(
    bootstrap: str, agency: str, group_settings: dict[str, int],
    client: dict[str, Any] | None = None, fetch_max_wait_ms: int = 50,
) -> KafkaConsumer:
    """A consumer of the agency's inbox in its group, committing only by hand."""
    return KafkaConsumer(
        topics.inbox(agency),
        bootstrap_servers=bootstrap,
        group_id=f"homeward-inbox-{agency.lower()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=100,
        metadata_max_age_ms=10_000,  # a re-created or re-partitioned inbox is seen soon
        reconnect_backoff_max_ms=topics.RECONNECT_BACKOFF_MAX_MS,
        # The broker may hold an empty fetch this long even after a message arrived:
        # kafka-python's 500 ms default is then most of the cross-border latency.
        fetch_max_wait_ms=fetch_max_wait_ms,
        **group_settings,
        **(client or {}),
    )
