"""A case's timeline as people read it: every event in order, with its place in the chain.

The same rows serve the API, the auditor's command line and exported files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from events.case import CaseEvent
from events.steps import BY_EVENT
from events.steps.opening import IDENTITY_FIELDS

REDACTED = "[protected]"


def entry(event: CaseEvent, personal: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seq": event.originator_version,
        "type": event.type,
        "occurred_at": event.timestamp.isoformat(),
        "recorded_by": event.recorded_by,
        "actor": event.actor,
        "data": event.data if personal else redacted(event),
        "hash": event.hash,
        "prev_hash": event.prev_hash,
    }
    if event.received is not None:
        row["message_id"] = event.received["message_id"]
        row["sender_hash"] = event.received["sender_hash"]
    return row


def rows(events: Iterable[CaseEvent], personal: bool = True) -> list[dict[str, Any]]:
    return [entry(event, personal) for event in events]


def protected_fields(event: CaseEvent) -> set[str]:
    step = BY_EVENT.get(type(event))
    if step is None:  # the opening
        return set(IDENTITY_FIELDS)
    return {name for fields in step.protected.values() for name in fields}


def redacted(event: CaseEvent) -> dict[str, Any]:
    hidden = protected_fields(event)
    return {k: (REDACTED if k in hidden else v) for k, v in event.data.items()}
