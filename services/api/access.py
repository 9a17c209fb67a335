"""The record of every read of a case's personal data: who, when, why.

It names the case by its id and the reader by their `sub`; never the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.api.sidecar import Sidecar


@dataclass(frozen=True)
class Access:
    at: str
    case_id: str
    agency: str
    sub: str
    what: str
    purpose: str | None


class AccessLog:
    def __init__(self, db: Sidecar) -> None:
        self.db, self.t = db, db.table("homeward_access_log")
        db.run(f"CREATE TABLE IF NOT EXISTS {self.t} (at TEXT NOT NULL, case_id TEXT NOT NULL, "
               "agency TEXT NOT NULL, sub TEXT NOT NULL, what TEXT NOT NULL, purpose TEXT)")

    def record(self, case_id: UUID, agency: str, sub: str, what: str, purpose: str | None,
               at: datetime) -> None:
        self.db.run(f"INSERT INTO {self.t} (at, case_id, agency, sub, what, purpose) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (at.isoformat(), str(case_id), agency, sub, what, purpose))

    def of_case(self, case_id: UUID) -> list[Access]:
        rows = self.db.run(f"SELECT at, case_id, agency, sub, what, purpose FROM {self.t} "
                           "WHERE case_id = ? ORDER BY at", (str(case_id),)).rows
        return [Access(*row) for row in rows]
