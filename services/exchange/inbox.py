"""The inbox: the partner's messages in, as received facts in this agency's stream.

Like the HTTP route, it only turns primitives into a command on the application
(`Homeward.receive`); what it adds is trust, in `admission`: the record's bounds, schemas,
signature, corridor, then the domain's own checks, with the message id recorded in the
same save. Its parts, each on its own:

- `admission`: whether a record is a fact this agency records, or why not;
- `holding`: messages ahead of their predecessors, or of a case whose opening has not come,
  held and released in order, bounded (`HoldingLimits`: beyond, the partition pauses);
- `parking`: messages refused for a passing reason, tried again with backoff, bounded per
  sender and in all (`ParkingLimits`: beyond, dead-lettered at once);
- `answers`: receipts to the senders and dead letters, on one producer;
- `partitions`: the consumer group's partitions, polled, paused, rewound, committed and
  watched for progress.

Nothing one record holds stops the inbox: it is recorded, recognised as recorded before
(counted, receipted again), held, parked, or dead-lettered with its reason (codes and field
paths, never a value), and the partition reads on. Only the store away (PersistenceError),
the broker away, or the trust directory file unreadable (`Transient`) make it read a record
again; no offset is committed past a record not yet ended, so a crash loses nothing.

Every message recorded, or recorded before, is answered with a signed receipt to its
sender (`receipts`); a receipt from a partner is recorded among the node's deliveries,
never answered. Both wait for the end of their poll's batch (`Answers.owe`, `pay`): no
message waits behind the receipts of those before it, and a poll's receipts from the
partner are recorded in one commit.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

from eventsourcing.persistence import PersistenceError
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from events.case import Case
from services.anchors.store import Anchors
from services.application import Homeward, OutOfSequence
from services.exchange import topics
from services.exchange.admission import Admission, Fact, Rejected, sealed_envelope
from services.exchange.answers import Answers
from services.exchange.clients import MakeConsumer, MakeProducer
from services.exchange.directory import Directory, DirectoryUnreadable
from services.exchange.holding import Holding, HoldingLimits, Overflow
from services.exchange.parking import Parking, ParkingLimits
from services.exchange.partitions import Partitions
from services.exchange.progress import STALL_SECONDS
from services.exchange.receipts import Receipts, is_receipt
from services.exchange.records import MAX_RECORD_BYTES, size
from services.exchange.sealing_keys import Unsealing
from services.signing import Signer

__all__ = ["Fact", "HoldingLimits", "Inbox", "ParkingLimits", "Transient"]
log = logging.getLogger(__name__)
# How long one poll's records may take before the rest is left to the next poll: well under
# the consumer group's max poll interval (HOMEWARD_KAFKA_MAX_POLL_INTERVAL_MS, 5 s), past
# which the member would be dropped and its whole batch read again, over and over.
BATCH_SECONDS = 1.5


class Transient(Exception):
    """A message that cannot be recorded now but may be later: read again, with backoff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _through(part: str, name: str) -> Any:
    """An attribute of the inbox that is its part's, read and set there."""
    return property(lambda self: getattr(getattr(self, part), name),
                    lambda self, value: setattr(getattr(self, part), name, value))


class Inbox:
    def __init__(
        self, app: Homeward, key: Unsealing, directory: Callable[[], Directory],
        consumer: MakeConsumer, producer: MakeProducer,
        ack_timeout: float = 10.0, anchors: Anchors | None = None,
        signer: Signer | None = None, receipts: Receipts | None = None,
        bound: HoldingLimits | None = None, parked_bound: ParkingLimits | None = None,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self.app, self.agency = app, key.owner
        self.admission = Admission(app, key, directory, anchors, signer)
        self.answers = Answers(self.agency, producer, receipts, self.admission.corridor_of,
                               ack_timeout)
        self.holding = Holding(bound)
        self.parking = Parking(parked_bound)
        self.partitions = Partitions(consumer, topics.inbox(self.agency), stall_seconds)
        self.applied = self.duplicates = 0
        self.retrying: str | None = None  # why the inbox is waiting to read a message again
        self.batch_seconds = BATCH_SECONDS

    # -- what operators and tests read -----------------------------------------

    held = _through("holding", "held")
    bound = _through("holding", "bound")
    unknown_case_wait = _through("holding", "unknown_case_wait")
    parked = _through("parking", "parked")
    parked_bound = _through("parking", "bound")
    parked_patience = _through("parking", "patience")
    paused = _through("partitions", "paused")
    progress = _through("partitions", "progress")
    assigned = _through("partitions", "assigned")
    rejoins = _through("partitions", "rejoins")
    dead = _through("answers", "dead")
    receipted = _through("answers", "receipted")

    def stalled(self) -> str | None:
        """Why the inbox is not ready: a partition standing still with records waiting."""
        return self.partitions.stalled()

    def trouble(self) -> str | None:
        """What an operator should know of the inbox, or None."""
        return trouble(self)

    # -- one message -------------------------------------------------------------

    def verify(self, value: bytes) -> Fact:
        return self.admission.verify(value)

    def apply(self, fact: Fact) -> Case | None:
        return self.admission.apply(fact)

    def dead_letter(self, record: ConsumerRecord, reason: str, sealed: bool = False) -> None:
        self.answers.dead_letter(record, reason, sealed)

    def handle(self, record: ConsumerRecord) -> str:
        """`applied`, `held`, `parked`, `duplicate`, `receipt`, `left` or `dead`: what
        became of the record. A record applied releases its held successors, in order."""
        outcome, fact = self._handle_one(record)
        released = fact if outcome == "applied" else None
        while released is not None:
            successor = self.holding.successor(released)
            if successor is None:
                break
            key, held, its_fact = successor
            try:
                then, next_fact = self._handle_one(held)
            except BaseException:
                self.holding.put_back(key, held, its_fact)  # not handled: it stays held
                raise
            released = next_fact if then == "applied" else None
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
                self.answers.record_receipt(fact, record.offset)
                return "receipt", None
            case = self.apply(fact)
        except OutOfSequence:
            assert fact is not None
            return self.holding.hold(record, fact), fact
        except DirectoryUnreadable as error:
            raise Transient(f"directory-unreadable: {error}") from None
        except Rejected as rejected:
            return self._refused(record, rejected, fact, sealed)
        except PersistenceError:
            raise  # the store is away, not the message: it is read again (see poll_once)
        except Exception as error:  # never stop on one message; an operator sees where
            # The exception's text may quote the message: its type and stack only.
            log.error("inbox: unexpected %s on offset %s:\n%s", type(error).__name__,
                      record.offset, "".join(traceback.format_tb(error.__traceback__)))
            self.dead_letter(record, f"error: {type(error).__name__}", sealed)
            return "dead", fact
        self.applied += 1
        self.answers.receipt(fact, case, record.offset)
        return "applied", fact

    def _refused(self, record: ConsumerRecord, rejected: Rejected, fact: Fact | None,
                 sealed: bool) -> tuple[str, Fact | None]:
        if rejected.transient:
            sender = rejected.sender or (fact.received.sender if fact else "")
            why = self.parking.set_aside(record, rejected.reason, sender, time.monotonic())
            if why is not None:
                self.dead_letter(record, why, sealed=True)
                return "dead", None
            self.retrying = rejected.reason
            log.warning("inbox: offset %s not recorded yet (%s); tried again later",
                        record.offset, rejected.reason)
            return "parked", None
        waiting = rejected.fact
        if rejected.code == "case-not-found" and waiting is not None \
                and waiting.received.sequence > 1:
            outcome = self.holding.hold(record, waiting)  # its opening may still come
            self.holding.await_opening(waiting, time.monotonic())
            return outcome, waiting
        if rejected.code == "duplicate":
            log.info("inbox: offset %s was recorded before", record.offset)
            self.duplicates += 1
            assert fact is not None
            self.answers.receipt(fact, None, record.offset)  # its sender still waits for it
            return "duplicate", fact
        self.dead_letter(record, rejected.reason, sealed)
        return "dead", fact

    # -- the stream --------------------------------------------------------------

    def poll_once(self, timeout_ms: int = 100) -> int:
        """Handles one poll's records and commits; returns how many it handled."""
        batches = self.partitions.poll(timeout_ms)
        deadline = time.monotonic() + self.batch_seconds
        self.answers.acknowledge()
        for partition in self.partitions.resume_due():
            self.holding.overflowing.add((partition.topic, partition.partition))
            log.warning("inbox: %s reads on past its bound", partition)
        self.holding.settle_overflow()
        self._give_up_waiting()
        self._retry_parked()
        try:
            return self._handle_batches(batches, deadline)
        finally:
            self.answers.forget_owed()  # left only by a failure: its records are read again
            self.partitions.observe_progress()

    def _handle_batches(self, batches: dict[TopicPartition, list[ConsumerRecord]],
                        deadline: float) -> int:
        """Each partition's records; their receipts are owed until its last is handled."""
        handled = 0
        unfinished = dict(batches)
        for partition, records in batches.items():
            after_last = records[-1].offset + 1
            self.answers.owe()  # if they cannot be paid, the partition is read again from
            rewind = partial(self.partitions.rewind, unfinished, partition)  # their first
            for record in records:
                if handled and time.monotonic() > deadline:
                    # Out of time: what was handled is committed and the rest read again by
                    # the next poll, so the member polls well within its max poll interval
                    # and keeps its partitions, however slow the records or the machine.
                    self.partitions.rewind(unfinished, partition, record.offset)
                    self.answers.pay(rewind)
                    self._settle_or_rewind(unfinished, partition, records[0].offset)
                    self._commit(partition, record.offset)
                    return handled
                try:
                    self.handle(record)
                except Overflow:
                    after_last = record.offset
                    log.warning("inbox: %d message(s) held, the bound: %s paused",
                                len(self.held), partition)
                    self.partitions.pause(partition, record.offset)
                    break
                except BaseException as error:
                    # Not handled (a passing refusal, the store or the broker away): read it
                    # again, and what followed.
                    self.answers.pay(rewind)
                    if isinstance(error, Transient):
                        self._settle_or_rewind(unfinished, partition, records[0].offset)
                        self._commit(partition, record.offset)
                    self.answers.forget_unsettled()
                    self.partitions.rewind(unfinished, partition, record.offset)
                    raise
                handled += 1
            self.answers.pay(rewind)
            self._settle_or_rewind(unfinished, partition, records[0].offset)
            self._commit(partition, after_last)
            del unfinished[partition]
        return handled

    def _settle_or_rewind(self, unfinished: dict[TopicPartition, list[ConsumerRecord]],
                          partition: TopicPartition, first: int) -> None:
        try:
            self.answers.settle()
        except BaseException:
            self.partitions.rewind(unfinished, partition, first)
            raise

    def _commit(self, partition: TopicPartition, after_last: int) -> None:
        """Up to the partition's first record held or parked (after a crash it must be
        read again), or past the last handled."""
        self.answers.acknowledge()
        where = (partition.topic, partition.partition)
        offset = min([*self.holding.offsets(*where), *self.parking.offsets(*where), after_last])
        self.partitions.commit(partition, offset)

    def _retry_parked(self) -> None:
        for key, entry in self.parking.due(time.monotonic()):
            if self.handle(entry.record) != "parked":  # recorded, or refused for good, at last
                self.answers.settle()  # before it is no longer kept from commits
                self.parking.remove(key)
        if not self.parked and self.retrying is not None and "directory" not in self.retrying:
            self.retrying = None

    def _give_up_waiting(self) -> None:
        """A message of a case whose opening never came is dead-lettered in the end, so
        it does not hold the partition's commits for ever."""
        wait = self.holding.unknown_case_wait
        for key, record in self.holding.given_up(time.monotonic()):
            self.dead_letter(record, f"case-not-found: no opening within {wait:g} s")
            self.answers.settle()  # before it is no longer kept from commits
            self.holding.drop(key)

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
        self.partitions.close(commit)
        self.answers.close()


def trouble(inbox: Inbox) -> str | None:
    """What an operator should know of the inbox, or None: messages held, a partition
    standing still, the parked at their bound, a message read again."""
    if inbox.paused:
        return (f"{len(inbox.held)} message(s) held ahead of their predecessors: "
                f"{len(inbox.paused)} partition(s) paused")
    stalled = inbox.stalled()
    if stalled is not None:
        return stalled
    if inbox.parking.at_bound():
        reasons = sorted({p.reason.split(":")[0] for p in inbox.parked.values()})
        return (f"{len(inbox.parking)} message(s) set aside until they can be recorded "
                f"({', '.join(reasons)}), at the bound: more are dead-lettered")
    if inbox.retrying is not None:
        return (f"{len(inbox.parking) or 'a'} message(s) read again until they can be "
                f"recorded ({inbox.retrying})")
    return None
