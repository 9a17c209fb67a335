"""Each case's own key, kept wrapped under the node's key, and destroyed on erasure.

The key table lies beside the event store: a SQLite file next to the events file, or a
table in the node's PostgreSQL schema (each its backend's: services/backends/, which
says what trace of a destroyed key each can keep). A row holds the case's key encrypted
with the node's cipher; erasing the case overwrites it with NULL and records when. A case
with an erased row never gets a new key, so nothing personal can be written for it again.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.cipher import Cipher

KEY_BYTES = 32
FRESH_SECONDS = 2.0  # how long a process trusts a key it read: another sees an erasure so soon
TABLE = "homeward_case_keys"


class CaseKeys(ABC):
    """Per-case keys; `wrap` is the node's cipher (None only for throwaway test stores)."""

    def __init__(self, wrap: Cipher | None) -> None:
        self._wrap = wrap
        self._fresh: dict[UUID, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def key(self, case_id: UUID, create: bool = False) -> bytes | None:
        """The case's key; None once erased (or, unless `create`, if it never had one)."""
        with self._lock:
            cached = self._fresh.get(case_id)
            if cached is not None and time.monotonic() - cached[0] < FRESH_SECONDS:
                return cached[1]
            row = self._select(case_id)
            if row is None and create:
                self._insert(case_id, self._wrapped(os.urandom(KEY_BYTES)))
                row = self._select(case_id)
            if row is None or row[0] is None:
                self._fresh.pop(case_id, None)
                return None
            key = self._unwrapped(row[0])
            self._fresh[case_id] = (time.monotonic(), key)
            return key

    def load(self, case_ids: Sequence[UUID]) -> None:
        """The keys of several cases read in one query, each kept as `key` keeps the one it
        reads (the audit reads a range of cases together); an erased case, or one with no
        row, is left to `key`. Read under the lock `destroy` takes, as `key` reads: a key
        destroyed meanwhile is not kept from a read made before."""
        with self._lock:
            rows, now = self._select_all(case_ids), time.monotonic()
            for case_id, (wrapped, _) in rows.items():
                if wrapped is not None:
                    self._fresh[case_id] = (now, self._unwrapped(wrapped))

    def prepare(self, case_ids: Iterable[UUID]) -> None:
        """Keys made ahead for cases about to be opened (the demo's seeding), in one write
        where `key(create=True)` writes each in one of its own (a commit synced to disk):
        each is on disk before anything is sealed under it, as there. A case that has a row
        (a key, or its erasure) keeps it."""
        self._insert_all([(case_id, self._wrapped(os.urandom(KEY_BYTES))) for case_id in case_ids])

    def destroy(self, case_id: UUID, at: datetime) -> None:
        """Erase the case's key for good (again, harmlessly, if it already was)."""
        with self._lock:
            self._fresh.pop(case_id, None)
            self._shred(case_id, at)

    def erased(self, case_id: UUID) -> bool:
        row = self._select(case_id)
        return row is not None and row[0] is None

    def _wrapped(self, key: bytes) -> bytes:
        return self._wrap.encrypt(key) if self._wrap is not None else key

    def _unwrapped(self, wrapped: bytes) -> bytes:
        return self._wrap.decrypt(wrapped) if self._wrap is not None else wrapped

    @abstractmethod
    def _select(self, case_id: UUID) -> tuple[bytes | None, str | None] | None: ...

    def _select_all(self, case_ids: Sequence[UUID]
                    ) -> dict[UUID, tuple[bytes | None, str | None]]:
        """`_select` of each case that has a row, in one query where the store can."""
        return {case_id: row for case_id in case_ids
                if (row := self._select(case_id)) is not None}

    @abstractmethod
    def _insert(self, case_id: UUID, wrapped: bytes) -> None:
        """Insert unless a row exists (another process may have just made one)."""

    def _insert_all(self, rows: list[tuple[UUID, bytes]]) -> None:
        """Each as `_insert` does, in one transaction where the store has them."""
        for case_id, wrapped in rows:
            self._insert(case_id, wrapped)

    @abstractmethod
    def _shred(self, case_id: UUID, at: datetime) -> None: ...

    @abstractmethod
    def close(self) -> None: ...


class MemoryCaseKeys(CaseKeys):
    """For in-memory stores: the keys live and die with the process."""

    def __init__(self, wrap: Cipher | None) -> None:
        super().__init__(wrap)
        self._rows: dict[UUID, tuple[bytes | None, str | None]] = {}

    def _select(self, case_id: UUID) -> tuple[bytes | None, str | None] | None:
        return self._rows.get(case_id)

    def _insert(self, case_id: UUID, wrapped: bytes) -> None:
        self._rows.setdefault(case_id, (wrapped, None))

    def _shred(self, case_id: UUID, at: datetime) -> None:
        self._rows[case_id] = (None, at.isoformat())

    def close(self) -> None:
        pass
