"""Where a node keeps checkpoints: its own (signed as it sent each message) and its
partners' (received with their messages, verified first), in the node's own tables beside
the event store (services/tables/__init__.py: a file of its own on SQLite, a table in the
node's schema on PostgreSQL). A checkpoint is kept once, however often it arrives."""

from __future__ import annotations

import json
from collections.abc import Sequence
from uuid import UUID

from services.anchors.checkpoint import Checkpoint
from services.tables import Tables


class Anchors:
    def __init__(self, db: Tables) -> None:
        self.db, self.t = db, db.table("homeward_checkpoints")
        db.run(f"CREATE TABLE IF NOT EXISTS {self.t} (case_id TEXT NOT NULL, "
               "agency TEXT NOT NULL, version INTEGER NOT NULL, document TEXT NOT NULL, "
               "PRIMARY KEY (case_id, agency, version))")

    def keep(self, checkpoint: Checkpoint) -> None:
        self.keep_all([checkpoint])

    def keep_all(self, checkpoints: list[Checkpoint], chunk: int = 200,
                 receipt: bool = False) -> None:
        """In one statement per `chunk`: the relay keeps a whole batch's at once.
        `receipt`: they came with receipts (the partner's stream at a fact of this agency's
        message), not with the partner's own messages."""
        noted = {"receipt": True} if receipt else {}
        for start in range(0, len(checkpoints), chunk):
            part = checkpoints[start:start + chunk]
            rows = ", ".join(["(?, ?, ?, ?)"] * len(part))
            self.db.run(f"INSERT INTO {self.t} (case_id, agency, version, document) "
                        f"VALUES {rows} ON CONFLICT DO NOTHING",
                        [value for c in part for value in (
                            c.case_id, c.agency, c.version,
                            json.dumps({**c.document(), **noted}, sort_keys=True))])

    def of_case(self, case_id: UUID | str) -> list[Checkpoint]:
        """Every checkpoint held of the case, by agency then version."""
        result = self.db.run(f"SELECT document FROM {self.t} WHERE case_id = ? "
                             "ORDER BY agency, version", (str(case_id),))
        return [Checkpoint.of(json.loads(row[0])) for row in result.rows]

    def of_cases(self, case_ids: Sequence[UUID], chunk: int = 500
                 ) -> dict[UUID, list[Checkpoint]]:
        """`of_case` of several cases, in one statement per `chunk`; a case with none is
        left out."""
        found: dict[UUID, list[Checkpoint]] = {}
        for start in range(0, len(case_ids), chunk):
            part = {str(case_id): case_id for case_id in case_ids[start:start + chunk]}
            result = self.db.run(f"SELECT case_id, document FROM {self.t} WHERE case_id IN "
                                 f"({', '.join(['?'] * len(part))}) "
                                 "ORDER BY case_id, agency, version", list(part))
            for case_id, document in result.rows:
                found.setdefault(part[case_id], []).append(Checkpoint.of(json.loads(document)))
        return found

    def case_ids(self) -> list[UUID]:
        """Every case a checkpoint is held of: a case gone from the store is still here."""
        result = self.db.run(f"SELECT DISTINCT case_id FROM {self.t} ORDER BY case_id")
        return [UUID(row[0]) for row in result.rows]
