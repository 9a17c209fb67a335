"""The hand-off tracker: persons who departed and whose arrival is not yet confirmed.

This is the clock that matters most: a person in transit whose arrival nobody
confirms is at risk of re-trafficking. The document keeps the times the events
give; elapsed time and "arrival overdue" are worked out at the time of the query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from events.case import CaseEvent, utc
from events.steps import CaseOpened
from events.steps.closure import CaseClosed, CaseReopened
from events.steps.consent import ConsentWithdrawn
from events.steps.transit import TransitIncidentRecorded
from events.steps.transport import (
    ArrivalConfirmed,
    DepartureConfirmed,
    TransportCancelled,
    TransportPlanned,
)
from events.values import Kind
from projections.board import NEVER, DeadlinesFor, default_deadlines, instant
from projections.projection import Doc, case_key, own_side

HOUR = 3600.0


class HandoffTracker:
    name = "handoffs"

    def __init__(self, deadlines_for: DeadlinesFor | None = None) -> None:
        self.deadlines_for = deadlines_for or default_deadlines

    def index(self, doc: Doc) -> HandoffRow:
        return handoff_row(doc, self.deadlines_for)

    def key(self, event: CaseEvent) -> str | None:
        return case_key(event)

    def apply(self, doc: Doc | None, event: CaseEvent) -> Doc | None:
        if isinstance(event, CaseOpened):
            if event.data["kind"] != Kind.REPATRIATION.value:
                return None  # no one travels in a referral case
            side = own_side(event)
            referring, receiving = event.data["referring_agency"], event.data["receiving_agency"]
            return {"id": str(event.originator_id), "referring": referring,
                    "receiving": receiving, "side": side,
                    "partner": receiving if side == "referring" else referring,
                    "expected_arrival": None, "departed_at": None, "arrived_at": None,
                    "closed": False}
        if doc is None:
            return None
        return {**doc, **_changes(doc, event)}


def _changes(doc: Doc, event: CaseEvent) -> Doc:
    d = event.data
    if isinstance(event, TransportPlanned):
        return {"expected_arrival": _utc(d["arrival_at"])}
    if isinstance(event, TransportCancelled):  # before departure, or after an incident
        return {"expected_arrival": None, "departed_at": None, "incident": None}
    if isinstance(event, TransitIncidentRecorded):
        return {"incident": d["kind"]}
    if isinstance(event, ConsentWithdrawn) and "return" in d["scopes"] and not doc["departed_at"]:
        return {"expected_arrival": None}  # the withdrawal cancelled the planned transport
    if isinstance(event, DepartureConfirmed):
        return {"departed_at": _utc(d["departed_at"])}
    if isinstance(event, ArrivalConfirmed):
        return {"arrived_at": _utc(d["arrived_at"]), "incident": None}
    if isinstance(event, CaseClosed | CaseReopened):
        return {"closed": isinstance(event, CaseClosed)}
    return {}


def _utc(text: str) -> str:
    return utc(datetime.fromisoformat(text)).isoformat()


@dataclass(frozen=True)
class InTransit:
    id: str
    partner: str
    side: str
    departed_at: str
    expected_arrival: str
    confirm_by: str  # when the "confirm arrival" clock runs out
    owed_by: str  # the receiving agency, which confirms arrival
    overdue: bool
    hours_in_transit: float
    hours_overdue: float
    incident: str | None = None  # an unresolved incident in transit, by kind

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class HandoffOrder:
    OVERDUE = "overdue"  # the longest overdue first, then the longest in transit (default)
    DEPARTED = "departed"  # the longest in transit first
    ALL = (OVERDUE, DEPARTED)


@dataclass(frozen=True)
class HandoffFilters:
    overdue: bool | None = None
    partner: str | None = None
    limit: int = 50
    offset: int = 0
    sort: str = HandoffOrder.OVERDUE


@dataclass(frozen=True)
class HandoffRow:
    """The indexed columns of one case on the hand-off tracker: whether the person is
    in transit, since when, and when the arrival clock runs out."""

    in_transit: bool
    partner: str
    departed_at: str
    confirm_by: str


def handoff_row(doc: Doc, deadlines_for: DeadlinesFor = default_deadlines) -> HandoffRow:
    travelling = bool(doc["departed_at"]) and not doc["arrived_at"] and not doc["closed"]
    return HandoffRow(
        in_transit=travelling, partner=doc["partner"],
        departed_at=instant(doc["departed_at"]) if travelling else NEVER,
        confirm_by=instant(_confirm_by(doc, deadlines_for)) if travelling else NEVER)


def _confirm_by(doc: Doc, deadlines_for: DeadlinesFor) -> datetime:
    expected = datetime.fromisoformat(doc["expected_arrival"])
    return expected + deadlines_for(doc["referring"], doc["receiving"]).confirm_arrival


def in_transit(
    docs: Iterable[Doc], now: datetime, deadlines_for: DeadlinesFor = default_deadlines,
) -> list[InTransit]:
    """Everyone departed and not arrived at `now`, the longest overdue first, then the
    longest in transit."""
    out = []
    for doc in docs:
        if not doc["departed_at"] or doc["arrived_at"] or doc["closed"]:
            continue
        departed = datetime.fromisoformat(doc["departed_at"])
        due = _confirm_by(doc, deadlines_for)
        late = max((now - due).total_seconds(), 0.0) / HOUR
        out.append(InTransit(
            id=doc["id"], partner=doc["partner"], side=doc["side"],
            departed_at=doc["departed_at"], expected_arrival=doc["expected_arrival"],
            confirm_by=due.isoformat(), owed_by=doc["receiving"], overdue=now > due,
            hours_in_transit=round(max((now - departed).total_seconds(), 0.0) / HOUR, 2),
            hours_overdue=round(late, 2), incident=doc.get("incident"),
        ))
    out.sort(key=lambda t: (instant(t.confirm_by) if t.overdue else NEVER,
                            instant(t.departed_at), t.id))
    return out
