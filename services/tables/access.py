"""The record of every read of a case's personal data: who, when, why.

It names the case by its id and the reader by their `sub`; never the person. The purpose
is the reader's own words ("court order 7", or a person's name), so it is kept as the
case's personal data is: encrypted under the case's own key (services/erasure/keys.py).
Once the case is erased its key is gone and so is every purpose given for reading it: the
entry still says who read what and when, its purpose reads as erased. Rows written before
(under the node's cipher) still read, and erasure overwrites them.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.tables import Tables


class Cipher(Protocol):
    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes: ...


class CaseKeys(Protocol):
    """Each case's own key (services.erasure.keys.CaseKeys); None once erased."""

    def key(self, case_id: UUID, create: bool = False) -> bytes | None: ...


@dataclass(frozen=True)
class Access:
    at: str
    case_id: str
    agency: str
    sub: str
    what: str
    purpose: str | None
    purpose_erased: bool = False  # a purpose was given, and went with the case's erasure


class AccessLog:
    def __init__(self, db: Tables, cipher: Cipher | None = None,
                 keys: CaseKeys | None = None) -> None:
        self.db, self.t = db, db.table("homeward_access_log")
        self.cipher, self.keys = cipher, keys
        db.run(f"CREATE TABLE IF NOT EXISTS {self.t} (at TEXT NOT NULL, case_id TEXT NOT NULL, "
               "agency TEXT NOT NULL, sub TEXT NOT NULL, what TEXT NOT NULL, purpose TEXT)")

    def record(self, case_id: UUID, agency: str, sub: str, what: str, purpose: str | None,
               at: datetime) -> None:
        self.db.run(f"INSERT INTO {self.t} (at, case_id, agency, sub, what, purpose) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (at.isoformat(), str(case_id), agency, sub, what,
                     self._seal(case_id, purpose)))

    def of_case(self, case_id: UUID) -> list[Access]:
        rows = self.db.run(f"SELECT at, case_id, agency, sub, what, purpose FROM {self.t} "
                           "WHERE case_id = ? ORDER BY at", (str(case_id),)).rows
        return [Access(at, case, agency, sub, what, *self._open(case_id, purpose))
                for at, case, agency, sub, what, purpose in rows]

    def forget_case(self, case_id: UUID) -> None:
        """On erasure: every purpose given for the case, whatever it was sealed under,
        is overwritten (the sidecar zeroes what it frees)."""
        self.db.run(f"UPDATE {self.t} SET purpose = ? WHERE case_id = ? AND purpose IS NOT NULL",
                    (ERASED, str(case_id)))

    def _seal(self, case_id: UUID, purpose: str | None) -> str | None:
        if purpose is None:
            return None
        if self.keys is not None:
            key = self.keys.key(case_id, create=True)
            if key is None:  # the case is erased: nothing personal is written for it again
                return ERASED
            nonce = os.urandom(NONCE_BYTES)
            sealed = AESGCM(key).encrypt(nonce, purpose.encode(), _bound(case_id))
            return CASE_SEALED + base64.b64encode(nonce + sealed).decode()
        if self.cipher is None:
            return purpose
        return NODE_SEALED + base64.b64encode(self.cipher.encrypt(purpose.encode())).decode()

    def _open(self, case_id: UUID, stored: str | None) -> tuple[str | None, bool]:
        """The purpose as given, and whether it was erased."""
        if stored == ERASED:
            return None, True
        if stored is not None and stored.startswith(CASE_SEALED):
            key = self.keys.key(case_id) if self.keys is not None else None
            if key is None:
                return None, True
            raw = base64.b64decode(stored[len(CASE_SEALED):])
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _bound(case_id))
            return plain.decode(), False
        if stored is None or not stored.startswith(NODE_SEALED) or self.cipher is None:
            return stored, False
        return self.cipher.decrypt(base64.b64decode(stored[len(NODE_SEALED):])).decode(), False


def _bound(case_id: UUID) -> bytes:
    """What a sealed purpose is bound to: it opens only as a purpose of this case."""
    return f"{case_id}/access-purpose".encode()


CASE_SEALED = "case:"  # under the case's own key
NODE_SEALED = "aes:"  # under the node's cipher (older rows; nodes without case keys)
ERASED = "erased:"  # the case was erased: the purpose went with it
NONCE_BYTES = 12
