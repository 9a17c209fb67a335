"""A checkpoint: an agency's signed statement that its stream of a case stood at a version
with a hash at a time, and, when it rides on a message, which message (its sequence and
digest) it was sent with.

The relay signs one with the node's Ed25519 key at every message it sends to the partner:
the partner keeps it, and so does the sender, so a chain cut short or rewritten later no
longer matches what was signed, on either side. The signature covers the bytes
`homeward checkpoint ` followed by the canonical JSON (RFC 8785) of every field but
`signature`, so a checkpoint cannot pass for another kind of signed object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.signing import Signer, canonical_json, verify

LABEL = b"homeward checkpoint "

# The public key an agency signed with under a key id, or None (the trust directory).
KeyOf = Callable[[str, str], Ed25519PublicKey | None]


@dataclass(frozen=True)
class CarryingMessage:
    """The message a checkpoint rode on: its sequence and digest (`integrity.hash`)."""

    sequence: int
    hash: str


@dataclass(frozen=True)
class Checkpoint:
    case_id: str
    agency: str  # whose stream, and who signed
    version: int
    hash: str  # the event's hash at `version`: it covers every event before it
    at: str  # when that event was recorded (RFC 3339)
    key_id: str
    signature: str
    message: CarryingMessage | None = None
    # Held as it came with a receipt (services/anchors/store.py); not part of what is signed.
    receipt: bool = field(default=False, compare=False)

    def document(self) -> dict[str, Any]:
        """Its fields but `receipt`, in order, and `message` only where it rode on one (made
        field by field: each message signs one and its partner checks it)."""
        out: dict[str, Any] = {"case_id": self.case_id, "agency": self.agency,
                               "version": self.version, "hash": self.hash, "at": self.at,
                               "key_id": self.key_id, "signature": self.signature}
        if self.message is not None:
            out["message"] = {"sequence": self.message.sequence, "hash": self.message.hash}
        return out

    def signed_bytes(self) -> bytes:
        return LABEL + canonical_json({k: v for k, v in self.document().items()
                                      if k != "signature"})

    def valid(self, key_of: KeyOf) -> bool:
        key = key_of(self.agency, self.key_id)
        return key is not None and verify(key, self.signature, self.signed_bytes())

    @classmethod
    def of(cls, document: dict[str, Any]) -> Checkpoint:
        """From its JSON (validated by its schema where it arrived)."""
        message = document.get("message")
        return cls(str(document["case_id"]), document["agency"], int(document["version"]),
                   document["hash"], document["at"], document["key_id"],
                   document["signature"],
                   CarryingMessage(int(message["sequence"]), message["hash"]) if message else None,
                   document.get("receipt") is True)


def sign(key: Signer, agency: str, case_id: UUID | str, version: int, head_hash: str,
         at: datetime, message: CarryingMessage | None = None) -> Checkpoint:
    unsigned = Checkpoint(str(case_id), agency, version, head_hash, at.isoformat(),
                          key.key_id, "", message)
    return replace(unsigned, signature=key.sign(unsigned.signed_bytes()))
