"""Sealed envelopes (`homeward.envelope.v2`): what crosses the broker, and what stays in clear.

A message is first made as before (`codec.to_envelope`, `codec.milestone_envelope`: the
signed v1 envelope with the case id, the minimised payload and its digest). `seal` then
encrypts that whole message to the recipient's X25519 key with HPKE (RFC 9180, base mode,
from `cryptography`) and signs the sealed envelope with the sender's Ed25519 key. On the
broker only the header stays readable: message id, type, sender, recipient, the
pseudonymous case reference, sequence and time. The header is the HPKE `info`, so a
ciphertext cannot be moved under another header.

`open_sealed` is the recipient's side: the ciphertext must be sealed to one of the keys it
keeps (the current one, or one rotated and not yet destroyed), open with it, and carry the
header it came under. Signature checks stay with admission.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke

from services.contract.codec import decode, encode, sign
from services.contract.registry import SEALED
from services.exchange.directory import Sealing
from services.exchange.sealing_keys import Unsealing
from services.signing import Signer, b64url, unb64

ENVELOPE_V2 = SEALED
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
SUITE_NAME = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
CLEAR = ("message_id", "schema", "sender", "recipient", "sequence", "occurred_at")


class SealError(Exception):
    """Why a sealed envelope does not open here; `code` is the refusal's reason code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


def is_sealed(envelope: Any) -> bool:
    return isinstance(envelope, dict) and envelope.get("envelope") == ENVELOPE_V2


def header(message: dict[str, Any], case_ref: str) -> dict[str, Any]:
    """What stays in clear: nothing of the person, not even the case id."""
    return {"envelope": ENVELOPE_V2, **{name: message[name] for name in CLEAR},
            "case_ref": case_ref}


def info(head: dict[str, Any]) -> bytes:
    return b"homeward sealed message " + encode(head)


def seal(message: dict[str, Any], case_ref: str, to: Sealing, sender: Signer) -> dict[str, Any]:
    """The signed v1 `message`, sealed to `to` and signed again as a sealed envelope."""
    head = header(message, case_ref)
    ciphertext = SUITE.encrypt(encode(message), to.public, info=info(head))
    sealed = {"suite": SUITE_NAME, "key_id": to.sealing_key_id,
              "ciphertext": b64url(ciphertext)}
    return sign({**head, "sealed": sealed, "integrity": {}}, sender)


def open_sealed(envelope: dict[str, Any], keys: Unsealing) -> dict[str, Any]:
    """The message inside a (schema-valid) sealed envelope, opened with whichever of the
    recipient's kept keys it is sealed to; SealError if none (not ours, or sealed to a key
    since rotated and destroyed) or it does not open."""
    sealed = envelope["sealed"]
    key = keys.opening(sealed["key_id"])
    if key is None:
        raise SealError("sealed-to-another",
                        f"sealed to key {sealed['key_id']}, not to a key this recipient keeps")
    head = {name: envelope[name] for name in ("envelope", *CLEAR, "case_ref")}
    try:
        plain = SUITE.decrypt(unb64(sealed["ciphertext"]), key.private, info=info(head))
        message = decode(plain)  # bounded as the envelope around it
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise SealError("unsealable", "the payload does not open with this recipient's key"
                        " under this header") from None
    if not isinstance(message, dict) or any(message.get(n) != envelope[n] for n in CLEAR):
        raise SealError("header-mismatch", "the sealed message differs from its header")
    return message
