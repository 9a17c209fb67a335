"""The status board: every case of this agency, its status, what blocks it and whom
it waits on, and its overdue clocks.

The document holds what the events determined (the case's state without personal
data); status, blocking items and overdue clocks depend on the time of the query,
so they are worked out by `events.progress` and `events.deadlines` when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from events.case import CaseEvent
from events.deadlines import Deadlines, overdue, reflection_ends
from events.progress import blocking, legal_matters, status
from events.steps import CaseOpened
from events.values import Status
from projections.case_state import advance, decode_state, encode_state, shell
from projections.projection import Doc, case_key, own_side

DeadlinesFor = Callable[[str, str], Deadlines]  # (referring, receiving) -> the corridor's


def default_deadlines(referring: str, receiving: str) -> Deadlines:
    return Deadlines()


class StatusBoard:
    name = "board"

    def key(self, event: CaseEvent) -> str | None:
        return case_key(event)

    def apply(self, doc: Doc | None, event: CaseEvent) -> Doc | None:
        if doc is None and not isinstance(event, CaseOpened):
            return None  # a stream always starts with its opening; nothing to attach to
        before = decode_state(doc["state"]) if doc is not None else None
        state = advance(before, event)
        side = own_side(event) if doc is None else doc["side"]
        return {
            "id": str(event.originator_id),
            "kind": state.kind.value,
            "referring": state.referring,
            "receiving": state.receiving,
            "side": side,
            "partner": state.receiving if side == "referring" else state.referring,
            "version": event.originator_version,
            "updated_at": event.timestamp.isoformat(),
            "state": encode_state(state),
        }


@dataclass(frozen=True)
class BoardFilters:
    status: Status | None = None
    overdue: bool | None = None
    partner: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Item:
    rule: str
    owed_by: str  # the agency code
    detail: str


@dataclass(frozen=True)
class OverdueClock:
    name: str
    owed_by: str  # the agency code
    due_at: str
    met: bool = False
    overdue: bool = True


@dataclass(frozen=True)
class BoardEntry:
    id: str
    kind: str
    status: str
    partner: str
    side: str
    minor: bool
    version: int
    updated_at: str
    blocking: list[Item] = field(default_factory=list)
    overdue: list[OverdueClock] = field(default_factory=list)
    urgent: bool = False
    legal_matters: list[str] = field(default_factory=list)
    reflection_period_ends: str | None = None  # while the period runs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BoardPage:
    items: list[BoardEntry]
    total: int  # matching the filters, before paging


def entry(doc: Doc, now: datetime, deadlines_for: DeadlinesFor = default_deadlines) -> BoardEntry:
    case = shell(decode_state(doc["state"]))
    limits = deadlines_for(doc["referring"], doc["receiving"])
    return BoardEntry(
        id=doc["id"], kind=doc["kind"], status=status(case, now).value, partner=doc["partner"],
        side=doc["side"], minor=case.state.minor, version=doc["version"],
        updated_at=doc["updated_at"],
        blocking=[Item(b.rule, case.agency(b.owed_by), b.detail) for b in blocking(case, now)],
        overdue=[OverdueClock(c.name, case.agency(c.owed_by), c.due_at.isoformat())
                 for c in overdue(case, now, limits)],
        urgent=case.state.urgent, legal_matters=legal_matters(case),
        reflection_period_ends=_iso(reflection_ends(case, now)),
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def board_view(
    docs: Iterable[Doc], filters: BoardFilters, now: datetime,
    deadlines_for: DeadlinesFor = default_deadlines,
) -> BoardPage:
    """The board at `now`: urgent cases first, then the most recently changed."""
    chosen = [
        e for e in (entry(d, now, deadlines_for) for d in docs
                    if filters.partner is None or d["partner"] == filters.partner)
        if (filters.status is None or e.status == filters.status.value)
        and (filters.overdue is None or bool(e.overdue) == filters.overdue)
    ]
    chosen.sort(key=lambda e: (e.updated_at, e.id), reverse=True)
    chosen.sort(key=lambda e: not e.urgent)  # stable: recency holds within each group
    return BoardPage(chosen[filters.offset:filters.offset + filters.limit], len(chosen))
