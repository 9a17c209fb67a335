"""The inbox: the partner's messages in, as received facts in this agency's stream.

Like the HTTP route, it only turns primitives into a command on the application
(`Homeward.receive`); what it adds is trust. Each message is parsed, validated against
its schemas, its signature checked against the trust directory, its sender checked to
be this case's partner on a known corridor; the domain then checks the step's owner
and records the fact together with its message id, so a redelivery changes nothing.

A message that fails goes to `homeward.deadletter.<me>` with its reason and the
consumer carries on. A message ahead of its predecessor is held until the predecessor
is applied, and no offset is committed past a held message, so a crash loses nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata

from events.rules import RuleViolation
from events.values import Received
from services.application import (
    CaseNotFound,
    Homeward,
    OutOfSequence,
    UnknownStep,
    VersionMismatch,
)
from services.contract import ContractError
from services.contract.codec import decode, from_envelope, signature_valid
from services.exchange import topics
from services.exchange.directory import Directory

log = logging.getLogger(__name__)
RETRIES = 3  # a local user may save the same case at the same moment
CACHED_CORRIDORS = 10_000
POSITION_CHECK_SECONDS = 5.0


class Rejected(Exception):
    """Why a message is not applied; `reason` is the dead-letter header."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.reason = str(self)


@dataclass(frozen=True)
class Fact:
    """A verified message, ready to be recorded."""

    case_id: UUID
    message_type: str
    payload: dict[str, Any]
    received: Received


class Inbox:
    def __init__(
        self, app: Homeward, agency: str, directory: Callable[[], Directory],
        consumer: Callable[[], KafkaConsumer], producer: Callable[[], KafkaProducer],
        ack_timeout: float = 10.0,
    ) -> None:
        self.app, self.agency, self.directory = app, agency, directory
        self._new_consumer, self._new_producer = consumer, producer
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self.ack_timeout = ack_timeout
        self.held: dict[tuple[UUID, str, int], tuple[ConsumerRecord, Fact]] = {}
        self.applied = self.dead = 0
        self._corridors: dict[UUID, tuple[str, str]] = {}
        self._checked = time.monotonic()
        self._partitions: set[int] | None = None
        self.assigned = False  # the group gave this member its partitions (readiness)

    # -- one message ---------------------------------------------------------

    def verify(self, value: bytes) -> Fact:
        """The message as a fact this agency may record, or Rejected saying why not."""
        try:
            envelope = decode(value)
        except (ValueError, UnicodeDecodeError) as error:
            raise Rejected("not-json", str(error)[:200]) from None
        try:
            case_id, kind, _, payload, received = from_envelope(envelope)
        except ContractError as error:
            raise Rejected("schema", str(error)[:1000]) from None
        sender = envelope["sender"]
        key = self.directory().key(sender, envelope["integrity"]["key_id"])
        if key is None:
            raise Rejected("unknown-sender", f"{sender} with key {envelope['integrity']['key_id']}"
                           " is not in the trust directory")
        if not signature_valid(envelope, key):
            raise Rejected("bad-signature", f"message {received.message_id} from {sender}")
        if envelope["recipient"] != self.agency:
            raise Rejected("wrong-recipient", f"addressed to {envelope['recipient']}")
        self._check_corridor(case_id, kind, payload, sender)
        return Fact(case_id, kind, payload, received)

    def _check_corridor(self, case_id: UUID, kind: str, payload: dict[str, Any], sender: str
                        ) -> None:
        if kind == "case-opened":
            referring, receiving = payload["referring_agency"], payload["receiving_agency"]
        else:
            referring, receiving = self._corridor_of(case_id)
        if {sender, self.agency} != {referring, receiving}:
            raise Rejected("not-a-partner", f"{sender} is not this agency's partner on the case")
        if self.directory().corridor(referring, receiving) is None:
            raise Rejected("no-corridor", f"no corridor {referring} -> {receiving}")

    def _corridor_of(self, case_id: UUID) -> tuple[str, str]:
        # A case's corridor never changes, so it is read from the store once.
        corridor = self._corridors.get(case_id)
        if corridor is None:
            try:
                state = self.app.case(case_id).state
            except CaseNotFound:
                raise Rejected("case-not-found", f"case {case_id} is unknown here") from None
            corridor = self._corridors[case_id] = (state.referring, state.receiving)
            if len(self._corridors) > CACHED_CORRIDORS:
                self._corridors.pop(next(iter(self._corridors)))
        return corridor

    def apply(self, fact: Fact) -> None:
        """Records the fact; Rejected if it was recorded before or a rule refuses it."""
        for attempt in range(RETRIES):
            try:
                case = self.app.receive(fact.case_id, fact.message_type, fact.payload,
                                        fact.received)
                break
            except VersionMismatch:
                if attempt == RETRIES - 1:
                    raise Rejected("conflict", "the case kept changing; not recorded") from None
            except CaseNotFound:
                raise Rejected("case-not-found", f"case {fact.case_id} is unknown here") from None
            except UnknownStep as error:
                raise Rejected("unknown-step", str(error)) from None
            except RuleViolation as error:
                raise Rejected(error.code, error.detail) from None
        if case is None:
            r = fact.received
            raise Rejected("duplicate", f"message {r.message_id} (sequence {r.sequence} "
                           f"from {r.sender}) was already recorded")

    def handle(self, record: ConsumerRecord) -> str:
        """`applied`, `held` or `dead`: what became of the record."""
        try:
            fact = self.verify(record.value)
            self.apply(fact)
        except OutOfSequence:
            self.held[(fact.case_id, fact.received.sender, fact.received.sequence)] = (record, fact)
            return "held"
        except Rejected as rejected:
            self.dead_letter(record, rejected.reason)
            return "dead"
        except PersistenceError:
            raise  # the store is away, not the message: it is read again (see poll_once)
        except Exception as error:  # never stop on one message; an operator sees why
            log.exception("inbox: unexpected failure on offset %s", record.offset)
            self.dead_letter(record, f"error: {type(error).__name__}")
            return "dead"
        self.applied += 1
        self._release(fact)
        return "applied"

    def _release(self, fact: Fact) -> None:
        """Applies the held successors of a fact just recorded, in order."""
        r = fact.received
        successor = self.held.pop((fact.case_id, r.sender, r.sequence + 1), None)
        if successor is not None:
            self.handle(successor[0])

    def dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.warning("inbox: dead letter at offset %s: %s", record.offset, reason)
        if self._producer is None:
            self._producer = self._new_producer()
        self._producer.send(
            topics.deadletter(self.agency), key=record.key, value=record.value,
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
        # The broker may hold an empty fetch this long even after a message arrived:
        # kafka-python's 500 ms default is then most of the cross-border latency.
        fetch_max_wait_ms=fetch_max_wait_ms,
        **group_settings,
        **(client or {}),
    )
