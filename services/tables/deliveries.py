"""Deliveries: every message the relay sent a partner, until the partner's receipt says it
holds the fact.

A table in the node's own database (the node's small tables: a SQLite file in the data
dir, or the node's PostgreSQL schema), so a restart forgets nothing. A row is written
before the message first leaves, so a receipt always finds it; it says when the message
is due again (the relay re-sends it, with backoff, until its receipt arrives) and, once
receipted, when and with what hash of the partner's recorded fact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.tables import Tables


@dataclass(frozen=True)
class Sent:
    """One message to a partner, as the relay sends it."""

    message_id: str
    case_id: UUID
    version: int  # of the sender's own event
    recipient: str


@dataclass(frozen=True)
class Receipt:
    """A partner's receipt of one message: `by` the recipient, with the hash of its fact."""

    message_id: str
    case_id: UUID
    by: str
    fact_hash: str


@dataclass(frozen=True)
class Due:
    message_id: str
    case_id: UUID
    version: int
    attempts: int


def stamp(at: datetime) -> str:
    """One text form for every instant, so the table's text order is time order."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class Deliveries:
    def __init__(self, db: Tables) -> None:
        self.db, self.t = db, db.table("homeward_deliveries")
        db.run(f"CREATE TABLE IF NOT EXISTS {self.t} (message_id TEXT PRIMARY KEY, "
               "case_id TEXT NOT NULL, version INTEGER NOT NULL, recipient TEXT NOT NULL, "
               "sent_at TEXT NOT NULL, attempts INTEGER NOT NULL, due_at TEXT NOT NULL, "
               "delivered_at TEXT, fact_hash TEXT)")
        db.run(f"CREATE INDEX IF NOT EXISTS homeward_deliveries_case ON {self.t} (case_id)")
        db.run(f"CREATE INDEX IF NOT EXISTS homeward_deliveries_due ON {self.t} (due_at) "
               "WHERE delivered_at IS NULL")

    def sending(self, messages: Iterable[Sent], at: datetime, due: datetime) -> None:
        """Records messages about to leave for the first time (a message met again, say
        after a crash before the relay recorded its position, keeps its row)."""
        rows = list(messages)
        for start in range(0, len(rows), 100):  # one statement, one commit, per 100 rows
            chunk = rows[start:start + 100]
            params: list[object] = []
            for m in chunk:
                params += [m.message_id, str(m.case_id), m.version, m.recipient, stamp(at),
                           stamp(due)]
            self.db.run(
                f"INSERT INTO {self.t} (message_id, case_id, version, recipient, sent_at, "
                "attempts, due_at) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, 1, ?)"] * len(chunk)) + " ON CONFLICT DO NOTHING",
                params)

    def delivered_already(self, messages: Iterable[tuple[Sent, str]], at: datetime) -> None:
        """Records messages, each with the hash of the fact its recipient recorded, as sent
        and receipted at `at` without the relay (the demo seeding hands them to the
        partner's inbox itself); a message already on record keeps its row."""
        rows = list(messages)
        for start in range(0, len(rows), 100):  # one statement, one commit, per 100 rows
            params: list[object] = []
            for m, fact_hash in rows[start:start + 100]:
                params += [m.message_id, str(m.case_id), m.version, m.recipient, stamp(at),
                           stamp(at), stamp(at), fact_hash]
            self.db.run(
                f"INSERT INTO {self.t} (message_id, case_id, version, recipient, sent_at, "
                "attempts, due_at, delivered_at, fact_hash) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, 1, ?, ?, ?)"] * len(rows[start:start + 100]))
                + " ON CONFLICT DO NOTHING", params)

    def due(self, at: datetime, limit: int = 200) -> list[Due]:
        """Messages without a receipt whose time to be sent again has come, oldest first."""
        rows = self.db.run(
            f"SELECT message_id, case_id, version, attempts FROM {self.t} "
            "WHERE delivered_at IS NULL AND due_at <= ? ORDER BY due_at LIMIT ?",
            (stamp(at), limit)).rows
        return [Due(r[0], UUID(r[1]), int(r[2]), int(r[3])) for r in rows]

    def resent(self, message_id: str, due: datetime) -> None:
        self.db.run(f"UPDATE {self.t} SET attempts = attempts + 1, due_at = ? "
                    "WHERE message_id = ? AND delivered_at IS NULL", (stamp(due), message_id))

    def receipted(self, message_id: str, case_id: UUID, by: str, fact_hash: str,
                  at: datetime) -> bool:
        """Records the receipt `by` the recipient of a message this node sent it of the
        case; False if there is no such message (one it never sent, of another case, or to
        another agency). The first receipt counts: one sent again changes nothing."""
        return message_id in self.receipted_all([Receipt(message_id, case_id, by, fact_hash)],
                                                at)

    def receipted_all(self, receipts: Iterable[Receipt], at: datetime) -> set[str]:
        """`receipted` of several receipts (the inbox's of one poll), in one commit per
        100: the ids of the messages on record, each of its case and recipient."""
        rows, known = list(receipts), set()
        for start in range(0, len(rows), 100):
            chunk = rows[start:start + 100]
            found = self.db.run(
                f"SELECT message_id, case_id, recipient, delivered_at FROM {self.t} "
                f"WHERE message_id IN ({', '.join(['?'] * len(chunk))})",
                [r.message_id for r in chunk]).rows
            held = {str(m): (str(c), str(to), d) for m, c, to, d in found}
            first: dict[str, str] = {}  # the first receipt of each message not receipted yet
            for r in chunk:
                entry = held.get(r.message_id)
                if entry is None or entry[:2] != (str(r.case_id), r.by):
                    continue
                known.add(r.message_id)
                if entry[2] is None:
                    first.setdefault(r.message_id, r.fact_hash)
            if first:
                whens = " ".join(["WHEN ? THEN ?"] * len(first))
                params: list[object] = [stamp(at)]
                for message_id, fact_hash in first.items():
                    params += [message_id, fact_hash]
                params += list(first)
                self.db.run(
                    f"UPDATE {self.t} SET delivered_at = ?, fact_hash = CASE message_id "
                    f"{whens} END WHERE delivered_at IS NULL AND message_id IN "
                    f"({', '.join(['?'] * len(first))})", params)
        return known

    def delivered(self, case_id: UUID) -> dict[int, datetime | None]:
        """Each message of the case sent so far, by the version of its event: when its
        receipt arrived, or None."""
        rows = self.db.run(f"SELECT version, delivered_at FROM {self.t} WHERE case_id = ?",
                           (str(case_id),)).rows
        return {int(v): (datetime.fromisoformat(d) if d else None) for v, d in rows}

    def receipted_among(self, message_ids: Iterable[str]) -> set[str]:
        """Those of the messages whose receipt has arrived already."""
        ids, found = list(message_ids), set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self.db.run(f"SELECT message_id FROM {self.t} WHERE delivered_at IS NOT NULL "
                               f"AND message_id IN ({', '.join(['?'] * len(chunk))})", chunk).rows
            found |= {str(r[0]) for r in rows}
        return found

    def undelivered(self, before: datetime) -> int:
        """Messages first sent before `before` that no receipt has answered yet."""
        rows = self.db.run(f"SELECT COUNT(*) FROM {self.t} "
                           "WHERE delivered_at IS NULL AND sent_at < ?", (stamp(before),)).rows
        return int(rows[0][0])

    def overdue(self, before: datetime, limit: int = 100) -> list[tuple[str, str, int]]:
        """Messages first sent before `before` still without a receipt: id, recipient,
        times sent (oldest first)."""
        rows = self.db.run(f"SELECT message_id, recipient, attempts FROM {self.t} "
                           "WHERE delivered_at IS NULL AND sent_at < ? ORDER BY sent_at "
                           "LIMIT ?", (stamp(before), limit)).rows
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def pending(self) -> int:
        rows = self.db.run(f"SELECT COUNT(*) FROM {self.t} WHERE delivered_at IS NULL").rows
        return int(rows[0][0])


def backoff(attempts: int, first: timedelta, longest: timedelta) -> timedelta:
    """How long after its `attempts`-th sending a message without receipt waits: `first`,
    doubling, at most `longest`."""
    return min(first * (2 ** min(max(attempts - 1, 0), 30)), longest)
