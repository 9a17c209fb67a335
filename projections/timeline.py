"""A case's timeline as people read it: every event in order, with its place in the chain.

The same rows serve the API, the auditor's command line and exported files (JSON, or
HTML for a court or an inspector). A reader
who may not see personal data gets each protected field and each local-only free text
left out and named in `redacted`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from events.audit import Break
from events.case import CaseEvent
from events.steps import BY_EVENT
from events.steps.opening import IDENTITY_FIELDS


def protected_fields(event: CaseEvent) -> tuple[str, ...]:
    """Personal fields and free text, protected or local-only: none is for every reader."""
    step = BY_EVENT.get(type(event))
    if step is None:  # the opening
        return IDENTITY_FIELDS
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
    }


def rows(events: Iterable[CaseEvent], personal: bool = True) -> list[dict[str, Any]]:
    return [entry(event, personal) for event in events]


def timeline_file(case_id: UUID, events: Iterable[CaseEvent], breaks: list[Break],
                  personal: bool) -> dict[str, Any]:
    """The exported timeline: its rows and the verdict on its hash chain."""
    return {"case_id": str(case_id), "chain_intact": not breaks,
            "breaks": [str(b) for b in breaks], "events": rows(events, personal)}


def render_html(document: dict[str, Any], breaks: list[Break]) -> str:
    esc = html.escape
    verdict = ("<p class=ok>Hash chain intact: every event matches its content and its "
               "predecessor.</p>" if not breaks else
               "<p class=bad>Hash chain broken: " + esc("; ".join(map(str, breaks))) + "</p>")
    body = "".join(
        f"<tr class={'received' if r['message_id'] else 'local'}><td>{r['seq']}</td>"
        f"<td>{esc(r['occurred_at'])}</td><td>{esc(r['type'])}</td><td>{esc(r['recorded_by'])}"
        f"</td><td>{esc(r['actor'])}</td><td><pre>{esc(json.dumps(r['data'], indent=1))}</pre>"
        f"</td><td><code>{esc(r['hash'][:16])}…</code></td></tr>"
        for r in document["events"]
    )
    return f"""<!doctype html><html lang=en><meta charset=utf-8>
<title>Case {esc(document['case_id'])}: timeline</title>
<style>body{{font:14px system-ui;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}}
tr.received{{background:#f3f7ff}}pre{{margin:0;font-size:12px}}.ok{{color:#176117}}
.bad{{color:#a11;font-weight:bold}}</style>
<h1>Case {esc(document['case_id'])}</h1>{verdict}
<p>Rows shaded blue are facts received from the partner agency.</p>
<table><tr><th>#</th><th>occurred at</th><th>step</th><th>recorded by</th><th>actor</th>
<th>data</th><th>hash</th></tr>{body}</table></html>"""
