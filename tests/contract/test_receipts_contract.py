"""A receipt is a message under the contract: valid by its schema, signed by the receiver,
the same receipt however often it is made, and nothing personal in it."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.contract import ContractError
from services.contract.codec import from_envelope, signature_valid
from services.contract.receipts import receipt_envelope, receipt_payload
from services.signing import SigningKey

AT = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
XB = SigningKey.generate("XB-NRM")


def test_a_receipt_is_signed_and_says_which_message_its_fact_and_when_only() -> None:
    case_id, receipted = uuid4(), str(uuid4())
    payload = receipt_payload(receipted, 4, "f" * 64, AT)
    envelope = receipt_envelope(case_id, "XA-NRM", payload, XB, "XB-NRM")
    got_case, kind, version, got, received = from_envelope(envelope)
    assert (got_case, kind, version) == (case_id, "receipt", 1)
    assert set(got) == {"message_id", "sequence", "fact_hash", "recorded_at"}
    assert got["message_id"] == receipted and got["fact_hash"] == "f" * 64
    assert (envelope["sender"], envelope["recipient"], received.sequence) == ("XB-NRM", "XA-NRM", 4)
    assert envelope["causation_id"] == receipted
    assert signature_valid(envelope, XB.public)
    again = receipt_envelope(case_id, "XA-NRM", payload, XB, "XB-NRM")
    assert again["message_id"] == envelope["message_id"]  # a receipt sent twice is one


def test_a_receipt_carrying_anything_else_is_refused() -> None:
    payload = {**receipt_payload(str(uuid4()), 1, "f" * 64, AT), "note": "Maria is safe"}
    with pytest.raises(ContractError, match="payload.note: unexpected property"):
        receipt_envelope(uuid4(), "XA-NRM", payload, XB, "XB-NRM")
