"""Idempotency keys: a retried POST gets the first response again, not a second effect.

A key is reserved before the command runs, so two requests racing with one key
cannot both act; the response is kept once the command took effect. A key lives for
a day (HOMEWARD_IDEMPOTENCY_HOURS) from its reservation: after that the same key is a
new request, and a background purge deletes it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Protocol
from uuid import UUID

from services.tables import Tables

# A reservation left by a request that died mid-way is taken over after this long.
STALE = timedelta(minutes=5)
ERASED_FINGERPRINT = "erased"  # matches no request: hashes are hex
KEEP = timedelta(hours=24)  # how long a key replays its first response
PURGE_EVERY = timedelta(hours=1)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Verdict(Enum):
    NEW = "new"  # reserved for this request: run the command
    REPLAY = "replay"  # the same request was answered before
    MISMATCH = "mismatch"  # the key was used with another request
    BUSY = "busy"  # the same request is running right now


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    stored: Stored | None = None


class Idempotency(Protocol):
    def begin(self, scope: str, key: str, fingerprint: str, at: datetime) -> Outcome: ...

    def finish(self, scope: str, key: str, response: Stored) -> None: ...

    def abandon(self, scope: str, key: str) -> None: ...

    def purge(self, at: datetime) -> int: ...


def _stamp(at: datetime) -> str:
    """One text form for every instant, so the table's text order is time order."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class TableIdempotency:
    """Keys in a table of the node's own database (see `sidecar`)."""

    def __init__(self, db: Tables, keep: timedelta = KEEP) -> None:
        self.db, self.t, self.keep = db, db.table("homeward_idempotency"), keep
        db.run(f"CREATE TABLE IF NOT EXISTS {self.t} (scope TEXT NOT NULL, key TEXT NOT NULL, "
               "fingerprint TEXT NOT NULL, reserved_at TEXT NOT NULL, status INTEGER, "
               "headers TEXT, body TEXT, PRIMARY KEY (scope, key))")

    def begin(self, scope: str, key: str, fingerprint: str, at: datetime) -> Outcome:
        # An expired key is forgotten first, whether or not the purge has run yet.
        self.db.run(f"DELETE FROM {self.t} WHERE scope = ? AND key = ? AND reserved_at < ?",
                    (scope, key, _stamp(at - self.keep)))
        inserted = self.db.run(
            f"INSERT INTO {self.t} (scope, key, fingerprint, reserved_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", (scope, key, fingerprint, _stamp(at)))
        if inserted.rowcount == 1:
            return Outcome(Verdict.NEW)
        rows = self.db.run(f"SELECT fingerprint, reserved_at, status, headers, body FROM {self.t} "
                           "WHERE scope = ? AND key = ?", (scope, key)).rows
        if not rows:  # abandoned in between: try once more
            return self.begin(scope, key, fingerprint, at)
        first, reserved_at, status, headers, body = rows[0]
        if first != fingerprint:
            return Outcome(Verdict.MISMATCH)
        if status is None:
            return self._take_over(scope, key, reserved_at, at)
        stored = Stored(int(status), [tuple(h) for h in json.loads(headers)], body.encode())
        return Outcome(Verdict.REPLAY, stored)

    def _take_over(self, scope: str, key: str, reserved_at: str, at: datetime) -> Outcome:
        if datetime.fromisoformat(reserved_at) > at - STALE:
            return Outcome(Verdict.BUSY)
        taken = self.db.run(f"UPDATE {self.t} SET reserved_at = ? WHERE scope = ? AND key = ? "
                            "AND reserved_at = ? AND status IS NULL",
                            (_stamp(at), scope, key, reserved_at))
        return Outcome(Verdict.NEW if taken.rowcount == 1 else Verdict.BUSY)

    def finish(self, scope: str, key: str, response: Stored) -> None:
        self.db.run(f"UPDATE {self.t} SET status = ?, headers = ?, body = ? "
                    "WHERE scope = ? AND key = ?",
                    (response.status, json.dumps(response.headers), response.body.decode(),
                     scope, key))

    def abandon(self, scope: str, key: str) -> None:
        self.db.run(f"DELETE FROM {self.t} WHERE scope = ? AND key = ? AND status IS NULL",
                    (scope, key))

    def forget_case(self, case_id: UUID) -> None:
        """After an erasure: a request's fingerprint is an unsalted hash of its body (a
        person's name and date of birth, for an opening), so each answer about the case
        keeps its response (id, version, status) but loses it. A retry with such a key is
        then refused as another request's, never run twice."""
        self.db.run(f"UPDATE {self.t} SET fingerprint = ? WHERE body LIKE ?",
                    (ERASED_FINGERPRINT, f"%{case_id}%"))

    def purge(self, at: datetime) -> int:
        """Deletes the keys that expired by `at`; returns how many."""
        return self.db.run(f"DELETE FROM {self.t} WHERE reserved_at < ?",
                           (_stamp(at - self.keep),)).rowcount


class KeyPurge:
    """Purges expired keys at start and then every `every`, in a thread of its own."""

    def __init__(self, keys: Idempotency, now: Callable[[], datetime],
                 every: timedelta = PURGE_EVERY) -> None:
        self.keys, self.now, self.every = keys, now, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="idempotency-purge", daemon=True)

    def start(self) -> KeyPurge:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                purged = self.keys.purge(self.now())
                if purged:
                    log.info("idempotency: %d expired key(s) purged", purged)
            except Exception:  # the table is unreachable now: the next round tries again
                log.exception("idempotency: the purge failed")
            self._stop.wait(self.every.total_seconds())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
