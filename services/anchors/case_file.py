"""A case's timeline file, as `homeward audit export` hands it on: the case's events
(redacted unless `personal`), the faults the audit finds in its chain, the checkpoints
held, and who exported it and why, signed line by line with the node's key
(services/anchors/export.py)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from projections.timeline import rows
from services.anchors.audit import StoreAudit
from services.anchors.export import Provenance, document, signed_html, signed_json
from services.anchors.narrative import render
from services.signing import SigningKey

FORMATS = ("json", "html")


def case_file(audit: StoreAudit, case_id: UUID, fmt: str, personal: bool, key: SigningKey,
              by: str, purpose: str | None, at: datetime) -> str:
    """The signed file: JSON, or HTML told as a narrative. Raises CaseNotFound."""
    if fmt not in FORMATS:
        raise ValueError(f"a timeline file is one of {', '.join(FORMATS)}, not {fmt!r}")
    events = audit.app.timeline(case_id)
    faults = [str(f) for f in audit.case(case_id).faults]
    anchors = [{"agency": c.agency, "version": c.version, "hash": c.hash, "at": c.at,
                "message": c.message.sequence if c.message else None, "receipt": c.receipt}
               for c in audit.anchors.of_case(case_id)]
    provenance = Provenance(key.agency, by, at.isoformat(), purpose, personal)
    record = document(str(case_id), rows(events, personal), faults, anchors, provenance)
    return signed_json(record, key) if fmt == "json" else signed_html(render(record), key)
