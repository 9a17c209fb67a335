"""Keyed pseudonyms of a case: its reference on the broker and its id at the monitor.

Both are HMAC-SHA256 of the case id under a per-corridor secret, so nobody who holds a
case id (the broker's operators, a monitor, a backup) can link it to either. The secret
needs no distribution: each agency derives it from its own X25519 sealing key and its
partner's public one (the Diffie-Hellman value is the same on both sides), through HKDF
labelled with the corridor. Both agencies' milestones of one case therefore meet at the
monitor under one pseudonym. Rotating a sealing key starts new pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.exchange.directory import Directory
from services.signing import SealingKey


class NoSealingKey(Exception):
    """The trust directory lists no sealing key for a recipient: nothing may go to it."""

    def __init__(self, recipient: str) -> None:
        super().__init__(f"the trust directory lists no sealing key for {recipient}")
        self.recipient = recipient


class Pseudonyms:
    def __init__(self, key: SealingKey, directory: Callable[[], Directory]) -> None:
        self.key, self.directory = key, directory
        self._secrets: dict[tuple[str, str, str], bytes] = {}

    def secret(self, referring: str, receiving: str) -> bytes:
        partner = receiving if self.key.owner == referring else referring
        sealing = self.directory().sealing(partner)
        if sealing is None:
            raise NoSealingKey(partner)
        cached = (referring, receiving, sealing.sealing_key)
        if cached not in self._secrets:
            shared = self.key.private.exchange(sealing.public)
            label = f"homeward corridor secret {referring}->{receiving}".encode()
            self._secrets[cached] = HKDF(hashes.SHA256(), 32, None, label).derive(shared)
        return self._secrets[cached]

    def case_ref(self, referring: str, receiving: str, case_id: UUID) -> UUID:
        """The case's reference on the partner's inbox topic (and its Kafka key)."""
        return _keyed(self.secret(referring, receiving), "case-ref", case_id)

    def monitoring(self, referring: str, receiving: str, case_id: UUID) -> UUID:
        """The case id the monitor sees: the same from both agencies, not reversible."""
        return _keyed(self.secret(referring, receiving), "monitoring", case_id)


def _keyed(secret: bytes, purpose: str, case_id: UUID) -> UUID:
    mac = hmac.new(secret, f"{purpose}:{case_id}".encode(), hashlib.sha256).digest()
    return UUID(bytes=mac[:16], version=4)
