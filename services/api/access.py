"""The record of every read of a case's personal data: who, when, why.

It names the case by its id and the reader by their `sub`; never the person. The purpose
is the reader's own words ("court order 7", or a person's name) and is kept encrypted with
the node's cipher, as personal data is.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from services.api.sidecar import Sidecar


class Cipher(Protocol):
    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes: ...


@dataclass(frozen=True)
class Access:
    at: str
    case_id: str
    agency: str
    sub: str
    what: str
    purpose: str | None


class AccessLog:
    def __init__(self, db: Sidecar, cipher: Cipher | None = None) -> None:
        self.db, self.t, self.cipher = db, db.table("homeward_access_log"), cipher
        db.run(f"CREATE TABLE IF NOT EXISTS {self.t} (at TEXT NOT NULL, case_id TEXT NOT NULL, "
               "agency TEXT NOT NULL, sub TEXT NOT NULL, what TEXT NOT NULL, purpose TEXT)")

    def record(self, case_id: UUID, agency: str, sub: str, what: str, purpose: str | None,
               at: datetime) -> None:
        self.db.run(f"INSERT INTO {self.t} (at, case_id, agency, sub, what, purpose) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (at.isoformat(), str(case_id), agency, sub, what, self._seal(purpose)))

    def of_case(self, case_id: UUID) -> list[Access]:
        rows = self.db.run(f"SELECT at, case_id, agency, sub, what, purpose FROM {self.t} "
                           "WHERE case_id = ? ORDER BY at", (str(case_id),)).rows
        return [Access(at, case, agency, sub, what, self._open(purpose))
                for at, case, agency, sub, what, purpose in rows]

    def _seal(self, purpose: str | None) -> str | None:
        if purpose is None or self.cipher is None:
            return purpose
        return SEALED + base64.b64encode(self.cipher.encrypt(purpose.encode())).decode()

    def _open(self, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(SEALED) or self.cipher is None:
            return stored
        return self.cipher.decrypt(base64.b64decode(stored[len(SEALED):])).decode()


SEALED = "aes:"  # a purpose stored encrypted (older rows, and nodes without a cipher: plain)
