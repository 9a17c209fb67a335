"""What the inbox sends back over the broker, on one producer: signed receipts to the
senders of the messages it holds, and dead letters for its operators.

Receipts are not waited for (a receipt is not worth holding the next message for): each
poll counts those the broker acknowledged. While the inbox handles a poll's batch they are
owed (`owe`), and paid once the batch's messages are recorded (`pay`): the partner's
receipts recorded in one commit, this node's signed, sealed and sent, so no message of the
batch waits behind the receipts of those before it. Dead letters are sent together and all
acknowledged (`settle`) before any offset past them is committed. A producer that failed
is closed and made afresh on the next send (`LazyProducer.reset`).

A dead letter is never made by reading the record again: `sealed` says whether admission
found a sealed envelope in it, and only then are its value and key kept (if they fit
MAX_KEPT_BYTES); of anything else nothing is kept, as it could hold anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import PersistenceError
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from events.case import Case
from services.exchange import topics
from services.exchange.admission import Fact
from services.exchange.clients import MakeProducer
from services.exchange.producing import LazyProducer
from services.exchange.receipts import Receipts
from services.exchange.records import MAX_CIPHERTEXT
from services.logs.events import operational

log = logging.getLogger(__name__)
REASON_CHARACTERS = 1000  # a dead letter's reason, at most
# A sealed envelope a dead letter keeps: one the schema allows, with room to spare.
MAX_KEPT_BYTES = MAX_CIPHERTEXT + 16_384


def kept(record: ConsumerRecord) -> tuple[bytes, bytes | None]:
    """What a dead letter keeps of a sealed envelope: its value and key as received, if
    they fit a dead letter (MAX_KEPT_BYTES), else nothing (the reason says what it was)."""
    value, key = record.value, record.key
    if not isinstance(value, bytes) or not isinstance(key, bytes | None):
        return b"", None
    if len(value) + len(key or b"") > MAX_KEPT_BYTES:
        return b"", None
    return value, key


@dataclass
class Owed:
    """Receipts of a batch being handled: the partner's to record, this node's to send,
    and the offsets of the records they answer."""

    received: list[Fact] = field(default_factory=list)
    answers: list[tuple[Fact, Case | None]] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)


class Answers:
    def __init__(self, agency: str, producer: MakeProducer,
                 receipts: Receipts | None, corridor_of: Callable[[Any], tuple[str, str]],
                 ack_timeout: float = 10.0) -> None:
        self.agency, self.producer = agency, LazyProducer(producer, "inbox")
        self.receipts = receipts  # without it (some tests), nothing is receipted
        self.corridor_of, self.ack_timeout = corridor_of, ack_timeout
        self._receipts: list[Any] = []  # sent, counted once acknowledged
        self._dead_letters: list[Any] = []  # sent, acknowledged before any commit past them
        self._failed = False
        self._owed: Owed | None = None  # the batch's receipts, while it is handled
        self.receipted = self.dead = 0

    # -- a batch's receipts -------------------------------------------------------

    def owe(self) -> None:
        """From now until `pay`, receipts wait for the end of the batch."""
        self._owed = Owed()

    def forget_owed(self) -> None:
        """Receipts are no longer owed; any still owed are dropped (their records are read
        again, or their senders send again)."""
        self._owed = None

    def pay(self, rewind: Callable[[int], None] | None = None) -> None:
        """The receipts owed: the partner's recorded in one commit, then this node's sent;
        receipts are paid at once from here on. Only the store away fails it: then
        `rewind` is given the offset of the first record they answer, to read it again."""
        owed, self._owed = self._owed, None
        if owed is None:
            return
        try:
            if owed.received and self.receipts is not None:
                self.receipts.record_all(owed.received)
            for fact, case in owed.answers:
                self.receipt(fact, case)
        except BaseException:
            if rewind is not None and owed.offsets:
                rewind(min(owed.offsets))
            raise

    def record_receipt(self, fact: Fact, offset: int) -> None:
        """Records a partner's receipt, the record at `offset`: at once, or when paid."""
        if self._owed is not None:
            self._owed.received.append(fact)
            self._owed.offsets.append(offset)
        elif self.receipts is not None:
            self.receipts.record(fact)

    # -- one receipt ----------------------------------------------------------------

    def receipt(self, fact: Fact, case: Case | None = None, offset: int | None = None
                ) -> None:
        """Sends the receipt of a fact held here (the record at `offset`: when owed, once
        paid). A receipt that cannot leave now is not lost: the sender sends its message
        again and gets the receipt then. After one failure, the rest of the batch sends
        none (a broker away would hold each send)."""
        if self._owed is not None and offset is not None:
            self._owed.answers.append((fact, case))
            self._owed.offsets.append(offset)
            return
        if self.receipts is None or self._failed:
            return
        try:
            receipt = self.receipts.receipt(fact, self.corridor_of(fact.case_id), case)
            if receipt is None:
                return
            self._receipts.append(self.producer.get().send(
                receipt.topic, key=receipt.key, value=receipt.value, headers=receipt.headers))
        except PersistenceError:
            raise
        except Exception as error:
            self._failed = True
            log.warning("inbox: no receipt sent now (%s)", type(error).__name__)

    def acknowledge(self) -> None:
        """Counts the receipts the broker acknowledged, without waiting for those still on
        their way. A producer that lost some (its broker restarted, say) is replaced: the
        senders' copies bring the receipts again."""
        if self._failed:
            self._failed = False
            self.producer.reset()
        pending, failed = [], 0
        for future in self._receipts:
            if not future.is_done:
                pending.append(future)
            elif future.succeeded():
                self.receipted += 1
            else:
                failed += 1
        self._receipts = pending
        if failed:
            log.warning("inbox: %d receipt(s) not acknowledged; the senders will send again",
                        failed)
            self.producer.reset()

    def dead_letter(self, record: ConsumerRecord, reason: str, sealed: bool = False) -> None:
        """Puts the record on the dead-letter topic with its reason, never reading it again:
        `sealed` (admission found a sealed envelope in it) keeps its value and key, if not
        too large to keep; of anything else nothing is kept. Only the broker away fails it,
        here or in `settle`."""
        reason = reason[:REASON_CHARACTERS].encode("utf-8", "backslashreplace").decode("utf-8")
        ref = record.key.decode("ascii", "replace")[:64] if sealed and record.key else None
        operational("message dead-lettered", level=logging.WARNING, case=ref, reason=reason,
                    topic=record.topic, partition=record.partition, offset=record.offset)
        value, key = kept(record) if sealed else (b"", None)
        self._dead_letters.append(self.producer.get().send(
            topics.deadletter(self.agency), key=key, value=value,
            headers=[("reason", reason.encode("utf-8", "replace")),
                     ("source-topic", str(record.topic).encode("utf-8", "replace")),
                     ("source-partition", str(record.partition).encode()),
                     ("source-offset", str(record.offset).encode())],
        ))
        self.dead += 1

    def settle(self) -> None:
        """Waits for the broker to acknowledge the dead letters sent, all at once. One that
        failed fails this (the broker is away): their records are read again."""
        pending, self._dead_letters = self._dead_letters, []
        for sent in pending:
            sent.get(timeout=self.ack_timeout)

    def forget_unsettled(self) -> None:
        """The records of the dead letters not settled are read again (and dead-lettered
        again if so)."""
        self._dead_letters = []

    def close(self) -> None:
        """The producer closed. What it still held for a broker away is not raised as the
        inbox stops: a receipt not delivered is answered again when its sender sends the
        message again, and a dead letter not acknowledged left its record uncommitted."""
        try:
            self.producer.close()
        except KafkaError as error:
            log.warning("inbox: answers not delivered as it closed: %r", error)
