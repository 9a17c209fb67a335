"""A step's event: its data, who recorded it, and its place in the case's hash chain.

Each step's own event (events/steps/<group>.py) says how it changes the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
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
    # Personal fields (identity, protected and local-only free text), each hashed as a
    # salted commitment so the chain outlives their erasure. None on events recorded
    # before commitments (their hash covers the clear data, as it always did).
    commitments: dict[str, str] | None = field(default=None, kw_only=True)
    salts: dict[str, str] | None = field(default=None, kw_only=True)  # None once erased
    # The supervisor who approved a step a caseworker asked for (four eyes); None otherwise.
    approved_by: str | None = field(default=None, kw_only=True)

    @property
    def type(self) -> str:
        return type(self).__name__

    def content(self) -> dict[str, Any]:
        return sealed_content(
            self.type, self.originator_id, self.originator_version, self.timestamp,
            self.recorded_by, self.actor, self.data, self.received, self.prev_hash,
            self.commitments, self.approved_by,
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
    type_: str, case_id: UUID | str, version: int, at: datetime | str, recorded_by: str,
    actor: str,
    data: Mapping[str, Any], received: Mapping[str, Any] | None, prev_hash: str,
    commitments: Mapping[str, str] | None = None, approved_by: str | None = None,
) -> dict[str, Any]:
    """What an event's hash covers: with commitments, each personal field's commitment
    stands in for its value (and the marker `personal` says which fields they are); the
    approving supervisor, on a step approved at a caseworker's request. `at` may be given
    as its ISO text already (the audit reads it so from the stored row)."""
    content = {
        "type": type_,
        "case_id": str(case_id),
        "version": version,
        "occurred_at": at if isinstance(at, str) else at.isoformat(),
        "recorded_by": recorded_by,
        "actor": actor,
        # Each personal field's commitment in place of its value (a commitment of no field
        # in `data` is named by `personal` alone).
        "data": dict(data) if commitments is None else
                {**data, **{k: c for k, c in commitments.items() if k in data}},
        "received": dict(received) if received is not None else None,
        "prev_hash": prev_hash,
    }
    if commitments is not None:
        content["personal"] = sorted(commitments)
    if approved_by is not None:
        content["approved_by"] = approved_by
    return content
