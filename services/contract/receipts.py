"""Receipts: a receiving agency's signed word that it holds a partner's message as a fact.

A receipt is a message like any other under the contract (`receipt.v1`), sealed to the
sender and signed by the receiver, sent to the sender's inbox for every message the
receiver recorded or already held. It says which message (its id and sequence), the
receiver's hash of the fact it recorded and when: nothing personal. Its envelope carries
the receipted message's sequence, and its id derives from the receipted message's id, so
a receipt sent twice is the same receipt.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from events.chain import GENESIS
from services.contract.codec import message_digest, sign
from services.contract.registry import schema_name, validate_payload
from services.signing import Signer

RECEIPT = "receipt"


def receipt_payload(message_id: str, sequence: int, fact_hash: str, recorded_at: datetime
                    ) -> dict[str, Any]:
    """What a receipt says: the one place that decides it."""
    return {"message_id": message_id, "sequence": sequence, "fact_hash": fact_hash,
            "recorded_at": recorded_at.isoformat()}


def receipt_id(receipted: str, receiver: str) -> str:
    return str(uuid5(UUID(receipted), f"{receiver}/receipt"))


def receipt_envelope(
    case_id: UUID, receipted_sender: str, payload: dict[str, Any], receiver_key: Signer,
    receiver: str, anchor: Callable[[int, str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The signed receipt of `payload` from `receiver` to the receipted message's sender;
    with `anchor`, carrying the receiver's checkpoint of its stream at the fact (envelope v3),
    which `anchor` makes from the receipt's sequence and digest."""
    validate_payload(RECEIPT, 1, payload)
    mid = receipt_id(payload["message_id"], receiver)
    sequence = payload["sequence"]
    envelope = {
        "message_id": mid,
        "schema": schema_name(RECEIPT, 1),
        "case_id": str(case_id),
        "sender": receiver,
        "recipient": receipted_sender,
        "sequence": sequence,
        "occurred_at": payload["recorded_at"],
        "correlation_id": str(case_id),
        "causation_id": payload["message_id"],
        "payload": payload,
        "integrity": {"prev_hash": GENESIS,
                      "hash": message_digest(case_id, RECEIPT, sequence, payload, GENESIS)},
    }
    if anchor is not None:
        envelope["checkpoint"] = anchor(sequence, envelope["integrity"]["hash"])
    return sign(envelope, receiver_key)
