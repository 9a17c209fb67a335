"""Receipts at both ends: the receiver answers each message it holds as a fact with a
signed receipt, and the sender records the receipts it gets (`deliveries`).

A receipt goes to the sender's inbox topic, sealed to the sender's key and signed, under
the case's keyed reference like every message. It is sent for a message just recorded and
again for one already held (the sender sent it again because no receipt reached it). A
receipt is never answered with a receipt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from events.case import Case, CaseEvent
from services.anchors.checkpoint import CarryingMessage
from services.anchors.checkpoint import sign as sign_checkpoint
from services.anchors.store import Anchors
from services.application import Homeward
from services.contract.codec import encode
from services.contract.receipts import RECEIPT, receipt_envelope, receipt_payload
from services.exchange import topics
from services.exchange.admission import Fact
from services.exchange.directory import Directory
from services.exchange.pseudonyms import NoSealingKey, Pseudonyms
from services.exchange.sealing import seal
from services.signing import SigningKey
from services.tables.deliveries import Deliveries, Receipt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outbound:
    """A sealed receipt, ready for the producer."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class Receipts:
    def __init__(self, app: Homeward, key: SigningKey, directory: Callable[[], Directory],
                 deliveries: Deliveries | None = None, anchors: Anchors | None = None) -> None:
        self.app, self.key, self.agency, self.directory = app, key, key.agency, directory
        self.anchors = anchors  # where the receiver's checkpoints a receipt carries are kept
        self.pseudonyms = Pseudonyms(key.sealing, directory)
        self.deliveries = deliveries
        self.recorded = self.unmatched = 0

    # -- the receiver's side --------------------------------------------------

    def receipt(self, fact: Fact, corridor: tuple[str, str], case: Case | None = None
                ) -> Outbound | None:
        """The receipt of a fact this agency holds, or None if it holds no such fact.
        `case`: the case just after recording the fact, when it was recorded just now."""
        r = fact.received
        if case is not None and case.last_at is not None:
            version, fact_hash, recorded_at = case.version, case.last_hash, case.last_at
        else:
            found = recorded_fact(self.app, fact.case_id, r.sender, r.message_id, r.sequence)
            if found is None:
                return None
            version, fact_hash, recorded_at = (found.originator_version, found.hash,
                                               found.timestamp)
        payload = receipt_payload(r.message_id, r.sequence, fact_hash, recorded_at)

        def anchor(sequence: int, digest: str) -> dict[str, Any]:
            # This node's stream at the fact, signed: the sender keeps it, so a fact
            # rewritten here later no longer matches what the sender holds.
            return sign_checkpoint(self.key, self.agency, fact.case_id, version, fact_hash,
                                   recorded_at, CarryingMessage(sequence, digest)).document()

        envelope = receipt_envelope(fact.case_id, r.sender, payload, self.key, self.agency,
                                    anchor)
        directory = self.directory()
        sealing = directory.sealing(r.sender)
        if sealing is None:
            raise NoSealingKey(r.sender)
        ref = str(self.pseudonyms.case_ref(*corridor, fact.case_id))
        value = encode(seal(envelope, ref, sealing, self.key))
        return Outbound(topics.inbox(r.sender), ref.encode(), value,
                        topics.headers(envelope["schema"], envelope["message_id"], self.agency))

    # -- the sender's side -----------------------------------------------------

    def record(self, fact: Fact) -> None:
        """Records a receipt the partner sent for one of this agency's messages."""
        self.record_all([fact])

    def record_all(self, facts: list[Fact]) -> None:
        """Records receipts the partner sent (the inbox's of one poll), in one commit."""
        for fact in facts:
            if fact.message_type != RECEIPT:
                raise ValueError(f"{fact.message_type} is not a receipt")
        if self.deliveries is None or not facts:
            return
        known = self.deliveries.receipted_all(
            [Receipt(f.payload["message_id"], f.case_id, f.received.sender,
                     f.payload["fact_hash"]) for f in facts], self.app.clock.now())
        kept = []
        for fact in facts:
            if fact.payload["message_id"] not in known:
                # Not dead-lettered: a store restored from a backup may have forgotten a
                # message that the relay then sends again, and its receipt will find it.
                self.unmatched += 1
                log.info("receipts: a receipt from %s for a message not on record",
                         fact.received.sender)
                continue
            if fact.checkpoint is not None:
                kept.append(fact.checkpoint)
            self.recorded += 1
        if kept and self.anchors is not None:
            self.anchors.keep_all(kept, receipt=True)


def is_receipt(fact: Fact) -> bool:
    return fact.message_type == RECEIPT


def recorded_fact(app: Homeward, case_id: UUID, sender: str, message_id: str, sequence: int
                  ) -> CaseEvent | None:
    """The fact the agency recorded of a partner's message (by its id, else by the
    sender's sequence, which a message sent again keeps)."""
    try:
        events = app.timeline(case_id)
    except Exception:
        return None
    by_sequence = None
    for event in events:
        received = event.received
        if received is None or received["sender"] != sender:
            continue
        if received["message_id"] == message_id:
            return event
        if received["sequence"] == sequence:
            by_sequence = event
    return by_sequence

