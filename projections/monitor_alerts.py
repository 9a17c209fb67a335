"""What the monitor alerts on, from the case documents only: the clocks overdue now, and
the escalations milestones reported (an incident in transit, a protection incident, a
risk of re-trafficking) with whether they still stand. Nothing of a person: each is the
pseudonymous case, its corridor, the clock or the escalation's kind, and a time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from projections.board import DeadlinesFor, default_deadlines
from projections.monitor import clocks
from projections.projection import Doc

# What answers an escalation: a milestone of these after it.
ANSWERED_BY = {"transit-incident": ("arrival-confirmed", "transport-cancelled"),
               "protection-escalation": ("risk-assessed",),
               "retrafficking-risk": ("risk-assessed",)}


def overdue(docs: Mapping[str, Doc], now: datetime,
            deadlines_for: DeadlinesFor = default_deadlines) -> list[dict[str, Any]]:
    """Each clock not met by its due time, per pseudonymous case."""
    return watched(docs, now, deadlines_for)[0]


def watched(docs: Mapping[str, Doc], now: datetime,
            deadlines_for: DeadlinesFor = default_deadlines
            ) -> tuple[list[dict[str, Any]], dict[str, list[tuple[str, datetime]]]]:
    """The clocks overdue now (as `overdue`), and per case the (clock, due time) of each
    not met and not yet overdue: until the earliest of those, or a new milestone, the
    case's overdue clocks stay as they are."""
    out, upcoming = [], {}
    for case, doc in sorted(docs.items()):
        c = doc["corridor"]
        pending = []
        for clock in clocks(doc, deadlines_for(c["referring"], c["receiving"])):
            if clock.met:
                continue
            if now > clock.due_at:
                out.append({"case": case, "corridor": dict(c), "clock": clock.name,
                            "due_at": clock.due_at.isoformat()})
            else:
                pending.append((clock.name, clock.due_at))
        if pending:
            upcoming[case] = pending
    return out, upcoming


def found_for_good(doc: Doc, alert: Mapping[str, Any],
                   deadlines_for: DeadlinesFor = default_deadlines) -> bool:
    """Whether an alert (a delivery's body: case, event, at, and its clock or incident)
    can never be found again in the case's document: its clock met (a milestone reached
    stays reached), or its escalation held (a milestone merged again adds nothing). A
    clock overdue, even on a closed case (a reopening brings it back), is not."""
    if alert.get("clock") is not None:
        c = doc["corridor"]
        return any(clock.name == alert["clock"] and clock.met
                   for clock in clocks(doc, deadlines_for(c["referring"], c["receiving"])))
    return (alert["at"], alert["event"], alert.get("incident") or "") in escalations(doc)


def escalations(doc: Doc) -> list[tuple[str, str, str]]:
    """(time, event, kind) of every escalation reported for the case."""
    return [(at, event, kind) for at, event, kind in doc.get("escalations", [])]


def new_escalations(before: Doc | None, after: Doc) -> list[tuple[str, str, str]]:
    known = set(escalations(before)) if before is not None else set()
    return [e for e in escalations(after) if e not in known]


def standing(doc: Doc, escalation: tuple[str, str, str]) -> bool:
    """Whether an escalation still stands: nothing that answers it was reached after it."""
    at, event, _ = escalation
    answers = ANSWERED_BY.get(event, ())
    latest = doc.get("latest", {})
    return not any(latest.get(m, "") >= at for m in answers) and doc["status"] != "closed"


def open_alerts(docs: Mapping[str, Doc], now: datetime,
                deadlines_for: DeadlinesFor = default_deadlines) -> list[dict[str, Any]]:
    """The alerts standing now: overdue clocks and escalations not yet answered."""
    out = [{**o, "kind": "clock", "at": o["due_at"]} for o in overdue(docs, now, deadlines_for)]
    for case, doc in sorted(docs.items()):
        for at, event, kind in escalations(doc):
            if standing(doc, (at, event, kind)):
                out.append({"case": case, "corridor": dict(doc["corridor"]),
                            "kind": event, "incident": kind or None, "at": at})
    return sorted(out, key=lambda a: (a["at"], a["case"]))
