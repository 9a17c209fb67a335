"""Messages as they go on the wire: a signed v1 message sealed to its recipient's key and
signed again as a sealed envelope (`services.exchange.sealing`), for tests that hand-craft
what a partner, a forger or a broken sender would publish."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5

from services.contract.codec import encode
from services.exchange.directory import Sealing
from services.exchange.sealing import seal
from services.signing import SealingKey, Signer


def sealing_of(key: SealingKey) -> Sealing:
    """The directory's entry for a sealing key."""
    return Sealing(sealing_key=key.public_b64, sealing_key_id=key.key_id)


def sealed_for(message: dict[str, Any], to: SealingKey, signer: Signer) -> bytes:
    """`message` sealed to `to`, the sealed envelope signed by `signer`; the case reference
    is any stable pseudonym (here one derived from the message id)."""
    case_ref = str(uuid5(NAMESPACE_URL, message["message_id"]))
    return encode(seal(message, case_ref, sealing_of(to), signer))
