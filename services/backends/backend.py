"""What every backend yields (services/backends/__init__.py says what a backend is)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.cipher import Cipher
from eventsourcing.persistence import StoredEvent

from services.erasure.keys import CaseKeys
from services.exchange.leadership import Role
from services.notification_log import GapBarrier
from services.readside.store import ReadStore
from services.tables import Tables

ROLES = ("relay", "projections")  # what one replica of a node holds at a time


class Backend(ABC):
    """One kind of store, and what a node keeps in it."""

    @abstractmethod
    def event_store(self) -> dict[str, str]:
        """The eventsourcing environment of the node's events (without its cipher)."""

    @abstractmethod
    def store_exists(self) -> bool:
        """Whether the node's events are already there (so their cipher key must be)."""

    @abstractmethod
    def read_store(self) -> ReadStore:
        """The agency node's read models, beside its events."""

    @abstractmethod
    def monitor_store(self) -> ReadStore:
        """The monitor node's de-identified view."""

    @abstractmethod
    def gap_barrier(self, app: Application[Any]) -> GapBarrier:
        """How a reader of `app`'s notification log tells a lasting gap from a late commit."""

    @abstractmethod
    def tables(self) -> Tables:
        """The node's own tables (idempotency keys, the access log, checkpoints...)."""

    @abstractmethod
    def case_keys(self, wrap: Cipher | None) -> CaseKeys:
        """The per-case key table, each key wrapped by the node's cipher `wrap`."""

    @abstractmethod
    def roles(self, names: Iterable[str] = ROLES) -> dict[str, Role]:
        """The roles one replica of the node holds at a time."""

    @abstractmethod
    def stored_events(self, app: Application[Any], case_ids: Sequence[UUID]
                      ) -> dict[UUID, list[StoredEvent]]:
        """The stored rows of several cases of `app`'s store read in one query, each case's
        in order (what the recorder's `select_events` gives one case at a time); a case with
        none is left out."""
