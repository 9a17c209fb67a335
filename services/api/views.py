"""Domain objects as response bodies: a case's state, its summary, its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from events.case import Case, CaseEvent
from events.deadlines import Clock, Deadlines, clocks, reflection_ends
from events.progress import blocking, legal_items, legal_matter, status
from events.values import Side
from projections.timeline import entry
from services.api.models import (
    Blocking,
    CaseSummary,
    CaseView,
    ClockView,
    Recorded,
    TimelineEntry,
)
from services.contract.codec import is_exported


def recorded(case: Case, now: datetime) -> Recorded:
    return Recorded(id=case.id, version=case.version, status=status(case, now))


def side_of(case: Case, agency: str) -> Side:
    return case.side_of(agency) or Side.REFERRING


def partner(case: Case, agency: str) -> str:
    other = Side.RECEIVING if side_of(case, agency) is Side.REFERRING else Side.REFERRING
    return case.agency(other)


def clock_views(case: Case, now: datetime, deadlines: Deadlines) -> list[ClockView]:
    return [_clock(case, c, now) for c in clocks(case, deadlines)]


def _clock(case: Case, clock: Clock, now: datetime) -> ClockView:
    return ClockView(name=clock.name, owed_by=case.agency(clock.owed_by), due_at=clock.due_at,
                     met=clock.met, overdue=clock.overdue(now))


def blocking_items(case: Case, now: datetime) -> list[Blocking]:
    return [Blocking(rule=b.rule, owed_by=case.agency(b.owed_by), detail=b.detail)
            for b in blocking(case, now)]


def legal(case: Case, now: datetime) -> dict[str, Any]:
    """The open legal matters, in English and as values, item for item."""
    items = legal_items(case, now)
    return {"legal_matters": [legal_matter(i) for i in items],
            "legal_items": items}


def case_view(case: Case, agency: str, now: datetime, deadlines: Deadlines,
              with_person: bool) -> CaseView:
    s, all_clocks = case.state, clock_views(case, now, deadlines)
    return CaseView(
        id=case.id, version=case.version, kind=s.kind, status=status(case, now),
        side=side_of(case, agency), referring=s.referring, receiving=s.receiving,
        partner=partner(case, agency), minor=s.minor, consent=sorted(s.consent),
        on_hold=s.on_hold, closed=s.closed, closure_reason=s.closure_reason,
        referred_at=s.referred_at, accepted_at=s.accepted_at, departed_at=s.departed_at,
        arrived_at=s.arrived_at, blocking=blocking_items(case, now), clocks=all_clocks,
        overdue=[c for c in all_clocks if c.overdue], urgent=s.urgent,
        **legal(case, now), reflection_period_ends=reflection_ends(case, now), as_of=now,
        assigned_to=s.assigned_to,
        person=s.person if with_person else None,
        transferred_from=UUID(s.transferred_from) if s.transferred_from else None,
    )


def summary(case: Case, agency: str, now: datetime, deadlines: Deadlines) -> CaseSummary:
    s = case.state
    return CaseSummary(
        id=case.id, version=case.version, kind=s.kind, status=status(case, now),
        side=side_of(case, agency), partner=partner(case, agency), updated_at=case.last_at,
        blocking=blocking_items(case, now),
        overdue=[c for c in clock_views(case, now, deadlines) if c.overdue],
        urgent=s.urgent, **legal(case, now), reflection_period_ends=reflection_ends(case, now),
        assigned_to=s.assigned_to,
    )


def timeline_entry(event: CaseEvent, with_person: bool, delivered_at: datetime | None = None
                   ) -> TimelineEntry:
    """`delivered_at`: when the partner's receipt of the event's message arrived."""
    return TimelineEntry.model_validate({**entry(event, with_person),
                                         "delivered_at": delivered_at,
                                         "shared": is_exported(event)})
