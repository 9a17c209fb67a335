"""The inbox: the partner's messages in, as received facts in this agency's stream.

Like the HTTP route, it only turns primitives into a command on the application
(`Homeward.receive`); what it adds is trust, in `admission`: schemas, signature,
corridor, then the domain's own checks, with the message id recorded in the same save.

A message that fails goes to `homeward.deadletter.<me>` with its reason (codes and field
paths, never a value) and the consumer carries on; the dead letter keeps the message only
if it is sealed (unreadable but to this agency), else nothing of it. A message recorded
before (normal under at-least-once delivery) is counted and skipped, not dead-lettered.
A message ahead of its predecessor is held until the predecessor is applied (so is one of
a case whose opening has not come yet), and no offset is committed past a held message, so
a crash loses nothing. Held messages are bounded per case and in all (`HeldBound`): beyond
the bound the inbox pauses the partition (and says so in /readyz); once the pause is over
it reads on, leaving what it cannot hold to its sender, which sends it again until its
receipt comes.

A refusal that may pass (`admission.TRANSIENT`: a concurrent change to the case, a key the
trust directory does not list yet; or a directory file being rewritten) is not final: the
message is read again, with backoff, and nothing after it is committed.

Every message recorded, or recorded before, is answered with a signed receipt to its
sender (`receipts`); a receipt from a partner is recorded among the node's deliveries,
never answered.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata

from events.case import Case
from services.anchors.checkpoint import Signer
from services.anchors.store import Anchors
from services.application import Homeward, OutOfSequence
from services.exchange import topics
from services.exchange.admission import Admission, Fact, Rejected, sealed_envelope
from services.exchange.directory import Directory, DirectoryUnreadable
from services.exchange.progress import STALL_SECONDS, Progress
from services.exchange.receipts import Receipts, is_receipt
from services.exchange.records import MAX_CIPHERTEXT, MAX_RECORD_BYTES, size
from services.signing import SealingKey

log = logging.getLogger(__name__)
POSITION_CHECK_SECONDS = 5.0
PAUSE_SECONDS = 5.0  # how long a partition stays paused once its held messages hit the bound
UNKNOWN_CASE_WAIT = 3600.0  # how long a message of a case not known here waits for its opening
# A message refused for a passing reason of its own (a key listed from later, the case kept
# changing) is set aside and tried again, with backoff, while the rest is read on; after
# this long it is dead-lettered (its sender sends it again until receipted, and an operator
# can replay it).
PARKED_PATIENCE = 600.0
REASON_CHARACTERS = 1000  # a dead letter's reason, at most
# A sealed envelope a dead letter keeps: one the schema allows, with room to spare.
MAX_KEPT_BYTES = MAX_CIPHERTEXT + 16_384


@dataclass(frozen=True)
class HeldBound:
    """How many messages ahead of their predecessors the inbox holds in memory."""

    per_case: int = 1000
    total: int = 10_000


@dataclass(frozen=True)
class ParkedBound:
    """How many messages refused for a passing reason the inbox sets aside, per sender and
    in all. Beyond it a message is dead-lettered at once (its sender sends it again until
    it is receipted; an operator can replay it)."""

    per_sender: int = 100
    total: int = 1000

    def full(self, sender: str, parked: list[str]) -> str | None:
        """Why one more message of `sender` may not be parked beside `parked` (their
        senders), or None."""
        if len(parked) >= self.total:
            return f"{len(parked)} messages set aside already, the bound"
        if sum(1 for s in parked if s == sender) >= self.per_sender:
            return f"{self.per_sender} messages of {sender} set aside already, the bound"
        return None


@dataclass
class Parked:
    """A message refused for a passing reason, set aside and tried again with backoff."""

    record: ConsumerRecord
    sender: str
    reason: str
    since: float  # monotonic
    next_try: float
    tries: int


class Transient(Exception):
    """A message that cannot be recorded now but may be later: read again, with backoff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Overflow(Exception):
    """Holding one more message would pass the bound."""


class Inbox:
    def __init__(
        self, app: Homeward, key: SealingKey, directory: Callable[[], Directory],
        consumer: Callable[[], KafkaConsumer], producer: Callable[[], KafkaProducer],
        ack_timeout: float = 10.0, anchors: Anchors | None = None,
        signer: Signer | None = None, receipts: Receipts | None = None,
        bound: HeldBound | None = None, parked_bound: ParkedBound | None = None,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self.app, self.agency = app, key.owner
        self.admission = Admission(app, key, directory, anchors, signer)
        self.receipts = receipts  # without it (some tests), nothing is receipted
        self._new_consumer, self._new_producer = consumer, producer
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self.ack_timeout = ack_timeout
        self.held: dict[tuple[UUID, str, int], tuple[ConsumerRecord, Fact]] = {}
        self.applied = self.dead = self.duplicates = self.receipted = 0
        self._answers: list[Any] = []  # receipts sent, acknowledged before the next commit
        self._dead_letters: list[Any] = []  # sent, acknowledged before any commit past them
        self._answering_failed = False
        self._checked = time.monotonic()
        self._partitions: set[int] | None = None
        # Partitions the last check found past their end: the position and the end.
        self._past_end: dict[TopicPartition, tuple[int, int]] = {}
        self.rejoins = 0  # times this inbox left its group to join it afresh
        self._committing: dict[TopicPartition, int] = {}  # offsets sent, not yet confirmed
        self.assigned = False  # the group gave this member its partitions (readiness)
        self.bound = bound or HeldBound()
        self.paused: dict[TopicPartition, float] = {}  # since when (monotonic)
        self._overflowing: set[TopicPartition] = set()  # read on past the bound
        self.retrying: str | None = None  # why the inbox is waiting to read a message again
        self._awaiting: dict[tuple[UUID, str, int], float] = {}  # held for an unknown case
        self.unknown_case_wait = UNKNOWN_CASE_WAIT
        self.parked: dict[tuple[str, int, int], Parked] = {}  # by (topic, partition, offset)
        self.parked_patience = PARKED_PATIENCE
        self.parked_bound = parked_bound or ParkedBound()
        self.progress: Progress[TopicPartition] = Progress(time.monotonic, stall_seconds)

    # -- one message ---------------------------------------------------------

    def verify(self, value: bytes) -> Fact:
        return self.admission.verify(value)

    def apply(self, fact: Fact) -> Case | None:
        return self.admission.apply(fact)

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
        sealed = False  # known to be a sealed envelope: a dead letter keeps it
        try:
            if size(record) > MAX_RECORD_BYTES:  # measured before anything is parsed
                raise Rejected("too-large", f"the record is more than {MAX_RECORD_BYTES} bytes")
            outer = sealed_envelope(record.value)
            sealed = True
            fact = self.admission.verify_envelope(outer)
            if is_receipt(fact):
                if self.receipts is not None:
                    self.receipts.record(fact)
                return "receipt", None
            case = self.apply(fact)
        except OutOfSequence:
            assert fact is not None
            return self._hold(record, fact)
        except DirectoryUnreadable as error:
            raise Transient(f"directory-unreadable: {error}") from None
        except Rejected as rejected:
            if rejected.transient:
                sender = rejected.sender or (fact.received.sender if fact else "")
                return self._park(record, rejected.reason, sender)
            waiting = rejected.fact
            if rejected.code == "case-not-found" and waiting is not None \
                    and waiting.received.sequence > 1:
                r = waiting.received
                self._awaiting.setdefault((waiting.case_id, r.sender, r.sequence),
                                          time.monotonic())
                return self._hold(record, waiting)  # its opening may still come
            if rejected.code == "duplicate":
                log.info("inbox: offset %s was recorded before", record.offset)
                self.duplicates += 1
                assert fact is not None
                self.answer(fact)  # its sender is still waiting for the receipt
                return "duplicate", fact
            self.dead_letter(record, rejected.reason, sealed)
            return "dead", fact
        except PersistenceError:
            raise  # the store is away, not the message: it is read again (see poll_once)
        except Exception as error:  # never stop on one message; an operator sees where
            # The exception's text may quote the message: its type and stack only.
            log.error("inbox: unexpected %s on offset %s:\n%s", type(error).__name__,
                      record.offset, "".join(traceback.format_tb(error.__traceback__)))
            self.dead_letter(record, f"error: {type(error).__name__}", sealed)
            return "dead", fact
        self.applied += 1
        self.answer(fact, case)
        return "applied", fact

    def _park(self, record: ConsumerRecord, reason: str, sender: str
              ) -> tuple[str, Fact | None]:
        key, now = (record.topic, record.partition, record.offset), time.monotonic()
        before = self.parked.get(key)
        if before is None:
            full = self.parked_bound.full(sender, [p.sender for p in self.parked.values()])
            if full is not None:
                self.dead_letter(record, f"{reason} ({full})", sealed=True)
                return "dead", None
        since, tries = (before.since, before.tries) if before is not None else (now, 0)
        if now - since > self.parked_patience:
            self.parked.pop(key, None)
            self.dead_letter(record, f"{reason} (still after {self.parked_patience:g} s)",
                             sealed=True)
            return "dead", None
        wait = min(0.5 * 2 ** min(tries, 10), 30.0)
        self.parked[key] = Parked(record, sender, reason, since, now + wait, tries + 1)
        self.retrying = reason
        log.warning("inbox: offset %s not recorded yet (%s); tried again in %g s",
                    record.offset, reason, wait)
        return "parked", None

    def _retry_parked(self) -> None:
        now = time.monotonic()
        for key, entry in list(self.parked.items()):
            if entry.next_try > now:
                continue
            if self.handle(entry.record) != "parked":  # recorded, or refused for good, at last
                self._settle_dead_letters()  # before it is no longer kept from commits
                self.parked.pop(key, None)
        if not self.parked and self.retrying is not None and "directory" not in self.retrying:
            self.retrying = None

    def _hold(self, record: ConsumerRecord, fact: Fact) -> tuple[str, Fact | None]:
        r = fact.received
        key = (fact.case_id, r.sender, r.sequence)
        if key not in self.held:
            of_case = sum(1 for held in self.held if held[0] == fact.case_id)
            if of_case >= self.bound.per_case or len(self.held) >= self.bound.total:
                partition = TopicPartition(record.topic, record.partition)
                if partition not in self._overflowing:
                    raise Overflow()
                # Past a pause: not held, not committed past; its sender sends it again.
                return "left", None
        self.held[key] = (record, fact)
        return "held", fact

    def answer(self, fact: Fact, case: Case | None = None) -> None:
        """Sends the receipt of a fact held here. A receipt that cannot leave now is not
        lost: the sender sends its message again and gets the receipt then. After one
        failure, the rest of the batch sends none (a broker away would hold each send)."""
        if self.receipts is None or self._answering_failed:
            return
        try:
            receipt = self.receipts.receipt(fact, self.admission.corridor_of(fact.case_id), case)
            if receipt is None:
                return
            if self._producer is None:
                self._producer = self._new_producer()
            self._answers.append(self._producer.send(
                receipt.topic, key=receipt.key, value=receipt.value, headers=receipt.headers))
        except PersistenceError:
            raise
        except Exception as error:
            self._answering_failed = True
            log.warning("inbox: no receipt sent now (%s)", type(error).__name__)

    def _acknowledge_answers(self) -> None:
        """Counts the receipts the broker acknowledged, without waiting for those still on
        their way (a receipt is not worth holding the next message for). A producer that
        lost some (its broker restarted, say) is replaced: the senders' copies bring the
        receipts again."""
        if self._answering_failed:
            self._answering_failed = False
            self._reset_producer()
        pending, failed = [], 0
        for future in self._answers:
            if not future.is_done:
                pending.append(future)
            elif future.succeeded():
                self.receipted += 1
            else:
                failed += 1
        self._answers = pending
        if failed:
            log.warning("inbox: %d receipt(s) not acknowledged; the senders will send again",
                        failed)
            self._reset_producer()

    def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:  # closing a broken client must not hide what happened
                log.debug("inbox: closing the producer failed", exc_info=True)

    def dead_letter(self, record: ConsumerRecord, reason: str, sealed: bool = False) -> None:
        """Puts the record on the dead-letter topic with its reason, never reading it again:
        `sealed` (admission found a sealed envelope in it) keeps its value and key, if not
        too large to keep; of anything else nothing is kept. Only the broker away fails it."""
        reason = reason[:REASON_CHARACTERS]
        log.warning("inbox: dead letter at offset %s: %s", record.offset, reason)
        if self._producer is None:
            self._producer = self._new_producer()
        value, key = kept(record) if sealed else (b"", None)
        sent = self._producer.send(
            topics.deadletter(self.agency), key=key, value=value,
            headers=[("reason", reason.encode("utf-8", "replace")),
                     ("source-topic", str(record.topic).encode("utf-8", "replace")),
                     ("source-partition", str(record.partition).encode()),
                     ("source-offset", str(record.offset).encode())],
        )
        self._dead_letters.append(sent)
        self.dead += 1

    def _settle_dead_letters(self) -> None:
        """Waits for the broker to acknowledge the dead letters sent, all at once: before
        any offset past them is committed. One that failed fails this (the broker is
        away): the records are read again."""
        pending, self._dead_letters = self._dead_letters, []
        for sent in pending:
            sent.get(timeout=self.ack_timeout)

    # -- the stream ------------------------------------------------------------

    def poll_once(self, timeout_ms: int = 100) -> int:
        """Handles one poll's records and commits; returns how many it handled."""
        if self._consumer is None:
            self._consumer = self._new_consumer()
        batches = self._consumer.poll(timeout_ms=timeout_ms)
        self.assigned = bool(self._consumer.assignment())
        self._acknowledge_answers()
        self._resume_paused()
        self._give_up_waiting()
        self._retry_parked()
        if not batches and time.monotonic() - self._checked > POSITION_CHECK_SECONDS:
            self._check_positions()
        try:
            return self._handle_batches(batches)
        finally:
            self._observe_progress()

    def _handle_batches(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> int:
        handled = 0
        unfinished = dict(batches)
        for partition, records in batches.items():
            after_last = records[-1].offset + 1
            for record in records:
                try:
                    self.handle(record)
                except Overflow:
                    after_last = record.offset
                    self._pause(partition, record.offset)
                    break
                except BaseException as error:
                    # Not handled (a passing refusal, the store or the broker away): read it
                    # again, and what followed.
                    if isinstance(error, Transient):
                        self._settle_or_rewind(unfinished, partition, records[0].offset)
                        self._acknowledge_answers()
                        self._commit(partition, record.offset)
                    self._dead_letters = []  # read again: dead-lettered again if so
                    self._rewind(unfinished, partition, record.offset)
                    raise
                handled += 1
            self._settle_or_rewind(unfinished, partition, records[0].offset)
            self._acknowledge_answers()
            self._commit(partition, after_last)
            del unfinished[partition]
        return handled

    def _settle_or_rewind(self, unfinished: dict[TopicPartition, list[ConsumerRecord]],
                          partition: TopicPartition, first: int) -> None:
        try:
            self._settle_dead_letters()
        except BaseException:
            self._rewind(unfinished, partition, first)
            raise

    def _observe_progress(self) -> None:
        """Where each partition stands once its batch is handled (or rewound to its first
        message not handled), beside the end its last fetch reported."""
        if self._consumer is None:
            self.progress.forget()
            return
        assigned = self._consumer.assignment()
        self.progress.forget(assigned)
        for partition in assigned:
            end = self._consumer.highwater(partition)
            if end is not None:  # fetched: its position is known here
                self.progress.observe(partition, self._consumer.position(partition, 200), end)

    def stalled(self) -> str | None:
        """Why the inbox is not ready: a partition that stands still while records wait on
        it (not one paused by the bound: that is said apart), or None."""
        stalled = self.progress.stalled(self.paused)
        if not stalled:
            return None
        return "; ".join(f"{p.topic}[{p.partition}] has stood at offset {position} for "
                         f"{seconds:.0f} s with records after it"
                         for p, (position, seconds) in sorted(stalled.items()))

    def _pause(self, partition: TopicPartition, offset: int) -> None:
        assert self._consumer is not None
        log.warning("inbox: %d message(s) held, the bound: %s paused", len(self.held), partition)
        self._consumer.seek(partition, offset)
        self._consumer.pause(partition)
        self.paused[partition] = time.monotonic()

    def _resume_paused(self) -> None:
        """A paused partition reads on once its pause is over; if its held messages are
        still at the bound, what it cannot hold is left to its sender to send again."""
        if self._consumer is None:
            return
        for partition, since in list(self.paused.items()):
            if time.monotonic() - since < PAUSE_SECONDS:
                continue
            del self.paused[partition]
            self._overflowing.add(partition)
            self._consumer.resume(partition)
            log.warning("inbox: %s reads on past its bound", partition)
        if not self.held:  # every held message applied: the bound pauses again
            self._overflowing.clear()

    def _give_up_waiting(self) -> None:
        """A message of a case whose opening never came is dead-lettered in the end, so
        it does not hold the partition's commits for ever."""
        now, wait = time.monotonic(), self.unknown_case_wait
        for key, since in list(self._awaiting.items()):
            if key not in self.held:
                del self._awaiting[key]  # applied since: its case came
            elif now - since > wait:
                record, _ = self.held[key]
                self.dead_letter(record, f"case-not-found: no opening within {wait:g} s")
                self._settle_dead_letters()  # before it is no longer kept from commits
                del self.held[key], self._awaiting[key]

    def trouble(self) -> str | None:
        """What an operator should know of the inbox, or None."""
        if self.paused:
            return (f"{len(self.held)} message(s) held ahead of their predecessors: "
                    f"{len(self.paused)} partition(s) paused")
        stalled = self.stalled()
        if stalled is not None:
            return stalled
        senders = Counter(p.sender for p in self.parked.values())
        if len(self.parked) >= self.parked_bound.total or any(
                n >= self.parked_bound.per_sender for n in senders.values()):
            return (f"{len(self.parked)} message(s) set aside until they can be recorded "
                    f"({self.retrying}), at the bound: more are dead-lettered")
        if self.retrying is not None:
            return (f"{len(self.parked) or 'a'} message(s) read again until they can be "
                    f"recorded ({self.retrying})")
        return None

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
        start): facts already recorded are recognised, so re-reading is harmless.

        The end of a partition is the high watermark of the latest fetch response, which
        every broker reports with each fetch; ListOffsets is asked only before a fetch
        answered (the local broker answers it with the end of the partition's first batch,
        not of its log). A partition is taken to be past its end only when two checks in
        a row, with nothing read between them, find it so."""
        self._checked = time.monotonic()
        assert self._consumer is not None
        assigned = list(self._consumer.assignment())
        if not assigned:
            return
        known = self._consumer.partitions_for_topic(topics.inbox(self.agency)) or set()
        if self._partitions is not None and known != self._partitions:
            return self._rejoin(f"the inbox now has partitions {sorted(known)}")
        self._partitions = known
        unknown = [p for p in assigned if self._consumer.highwater(p) is None]
        listed = self._consumer.end_offsets(unknown) if unknown else {}
        past: dict[TopicPartition, tuple[int, int]] = {}  # the position and the end
        for partition in assigned:
            end = self._consumer.highwater(partition)
            end = listed.get(partition) if end is None else end
            position = self._consumer.position(partition)
            if end is not None and position > end:
                past[partition] = (position, end)
        suspected, self._past_end = self._past_end, past
        for partition, (position, end) in past.items():
            if partition in suspected and suspected[partition][0] == position:
                return self._rejoin(f"{partition} is past the end of its log "
                                    f"({position} > {end})")

    def _rejoin(self, why: str) -> None:
        log.warning("inbox: %s: rejoining the group", why)
        self.rejoins += 1
        consumer, self._consumer, self._partitions = self._consumer, None, None
        self._past_end, self._committing = {}, {}
        self.paused.clear()  # a new member starts unpaused
        if consumer is not None:
            consumer.close(autocommit=False)

    def _commit(self, partition: TopicPartition, after_last: int) -> None:
        where = (partition.topic, partition.partition)
        held = [rec.offset for rec, _ in self.held.values() if (rec.topic, rec.partition) == where]
        held += [offset for topic, number, offset in self.parked if (topic, number) == where]
        # Never past a held message: after a crash it must be read again.
        offset = min([*held, after_last])
        assert self._consumer is not None
        # Not waited for: every fact up to the offset is recorded already, so a commit that
        # is lost only makes a member read them again, and they are recognised.
        self._committing[partition] = offset
        self._consumer.commit_async({partition: OffsetAndMetadata(offset, "", -1)},
                                    callback=self._committed)

    def _committed(self, offsets: dict[TopicPartition, OffsetAndMetadata],
                   response: object) -> None:
        if isinstance(response, Exception):
            log.info("inbox: an offset commit failed (%r); the next one covers it", response)
            return
        for partition, done in offsets.items():
            if self._committing.get(partition) == done.offset:
                self._committing.pop(partition, None)

    def _flush_commits(self, consumer: KafkaConsumer) -> None:
        """Commits what is still on its way, briefly: a member that stops cleanly does not
        leave its successor messages to read again (they would be recognised if it did)."""
        pending, self._committing = dict(self._committing), {}
        if not pending:
            return
        try:
            consumer.commit({p: OffsetAndMetadata(o, "", -1) for p, o in pending.items()},
                            timeout_ms=1000)
        except Exception as error:  # the broker away: the offsets are read again later
            log.info("inbox: offsets not committed on closing (%r)", error)

    def run(self, stop: threading.Event, backoff: float = 0.5, longest: float = 30.0) -> None:
        failures = 0
        while not stop.is_set():
            try:
                if self.poll_once():
                    failures = 0
                    if not self.parked:
                        self.retrying = None
            except Transient as passing:
                failures += 1
                self.retrying = passing.reason
                log.warning("inbox: not recorded yet (%s); reading it again", passing.reason)
                stop.wait(min(backoff * 2 ** min(failures - 1, 10), longest))
            except Exception as error:  # the broker is away: keep trying, lose nothing
                log.warning("inbox: %r; retrying", error)
                stop.wait(backoff)
        self.close()

    def close(self, commit: bool = False) -> None:
        consumer, self._consumer = self._consumer, None
        producer, self._producer = self._producer, None
        if consumer is not None:
            self._flush_commits(consumer)
            consumer.close(autocommit=commit)
        if producer is not None:
            producer.close(timeout=1)


def kept(record: ConsumerRecord) -> tuple[bytes, bytes | None]:
    """What a dead letter keeps of a sealed envelope: its value and key as received, if
    they fit a dead letter (MAX_KEPT_BYTES), else nothing (the reason says what it was)."""
    value, key = record.value, record.key
    if not isinstance(value, bytes) or not isinstance(key, bytes | None):
        return b"", None
    if len(value) + len(key or b"") > MAX_KEPT_BYTES:
        return b"", None
    return value, key


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
