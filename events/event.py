"""A step's event: its data, who recorded it, and its place in the case's hash chain.

Each step's own event (events/steps/<group>.py) says how it changes the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate


class CaseEvent(Aggregate.Event):
    """A step of the case: its data, who recorded it, and its place in the chain."""

    data: dict[str, Any]
    recorded_by: str
    actor: str
    received: dict[str, Any] | None
    prev_hash: str
    hash: str

    @property
    def type(self) -> str:
        return type(self).__name__

    def content(self) -> dict[str, Any]:
        return sealed_content(
            self.type, self.originator_id, self.originator_version, self.timestamp,
            self.recorded_by, self.actor, self.data, self.received, self.prev_hash,
        )

    def apply(self, aggregate: Any) -> None:
        case = aggregate  # the Case (events.case), which imports this module
        case.last_hash = self.hash
        case.last_at = self.timestamp
        if self.received is not None:
            case.message_ids.add(self.received["message_id"])
            case.last_sequence[self.received["sender"]] = self.received["sequence"]
        self.change(case)

    def change(self, case: Any) -> None:
        """How this step changes the case; each step's event says."""


def sealed_content(
    type_: str, case_id: UUID | str, version: int, at: datetime, recorded_by: str, actor: str,
    data: Mapping[str, Any], received: Mapping[str, Any] | None, prev_hash: str,
) -> dict[str, Any]:
    return {
        "type": type_,
        "case_id": str(case_id),
        "version": version,
        "occurred_at": at.isoformat(),
        "recorded_by": recorded_by,
        "actor": actor,
        "data": dict(data),
        "received": dict(received) if received is not None else None,
        "prev_hash": prev_hash,
    }
