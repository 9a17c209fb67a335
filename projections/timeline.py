"""A case's timeline as people read it: every event in order, with its place in the chain.

The same rows serve the API, the auditor's command line and exported files (JSON, or
HTML for a court or an inspector: services/anchors/export.py and narrative.py). A reader
who may not see personal data gets each protected field and each local-only free text
left out and named in `redacted`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from events.case import CaseEvent
from events.steps import BY_EVENT
from events.steps.opening import IDENTITY_FIELDS


def protected_fields(event: CaseEvent) -> tuple[str, ...]:
    """Personal fields and free text, protected or local-only: none is for every reader."""
    step = BY_EVENT.get(type(event))
    if step is None:  # the opening, or the agency's casework (events/casework.py)
        return getattr(type(event), "personal", IDENTITY_FIELDS)
    return (*(name for fields in step.protected.values() for name in fields), *step.local_only)


def entry(event: CaseEvent, personal: bool = True) -> dict[str, Any]:
    hidden = [] if personal else [f for f in protected_fields(event) if f in event.data]
    return {
        "seq": event.originator_version,
        "type": event.type,
        "occurred_at": event.timestamp.isoformat(),
        "recorded_by": event.recorded_by,
        "actor": event.actor,
        "data": {k: v for k, v in event.data.items() if k not in hidden},
        "hash": event.hash,
        "prev_hash": event.prev_hash,
        "message_id": (event.received or {}).get("message_id"),
        "sender_hash": (event.received or {}).get("sender_hash"),
        "redacted": hidden,
        "approved_by": event.approved_by,
    }


def rows(events: Iterable[CaseEvent], personal: bool = True) -> list[dict[str, Any]]:
    return [entry(event, personal) for event in events]
