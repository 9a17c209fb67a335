"""The status board: every case of this agency, its status, what blocks it and whom
it waits on, and its overdue clocks.

The document holds what the events determined (the case's state without personal
data); status, blocking items and overdue clocks depend on the time of the query,
so they are worked out by `events.progress` and `events.deadlines` when asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from events.case import Case, CaseEvent, CaseState, utc
from events.deadlines import Deadlines, clocks, overdue, reflection_ends
from events.progress import LegalItem, blocking, legal_items, legal_matter, status
from events.steps import CaseOpened
from events.values import Status
from projections.case_state import advance, decode_state, encode_state_days, shell
from projections.projection import Doc, case_key, own_side

DeadlinesFor = Callable[[str, str], Deadlines]  # (referring, receiving) -> the corridor's


def default_deadlines(referring: str, receiving: str) -> Deadlines:
    return Deadlines()


class StatusBoard:
    """`today` and `deadlines_for` decide only the indexed columns (`index`), which the
    query refreshes once the day moves past a row's `status_until`."""

    name = "board"

    def __init__(self, deadlines_for: DeadlinesFor | None = None,
                 today: Callable[[], date] | None = None) -> None:
        self.deadlines_for = deadlines_for or default_deadlines
        self.today = today or (lambda: datetime.now(UTC).date())
        # The state each document was just encoded from, so that indexing it (the runner
        # indexes what it folded) does not decode it again; bounded, and only ever used for
        # the very document (id and version) it was made with.
        self._folded: dict[tuple[str, int], Folded] = {}

    def index(self, doc: Doc) -> BoardRow:
        folded = self._folded.pop((doc["id"], doc["version"]), None)
        return board_row(doc, self.today(), self.deadlines_for, folded)

    def key(self, event: CaseEvent) -> str | None:
        return case_key(event)

    def apply(self, doc: Doc | None, event: CaseEvent) -> Doc | None:
        return self.apply_all(doc, [event])

    def apply_all(self, doc: Doc | None, events: Sequence[CaseEvent]) -> Doc | None:
        """The document after the case's events, in order: its state decoded once and
        encoded once, however many events a batch holds for the case."""
        state = decode_state(doc["state"]) if doc is not None else None
        side = doc["side"] if doc is not None else None
        last = None
        for event in events:
            if state is None and not isinstance(event, CaseOpened):
                continue  # a stream always starts with its opening; nothing to attach to
            if state is None:
                side = own_side(event)
            state, last = advance(state, event), event
        if state is None or last is None:
            return doc
        encoded, days = encode_state_days(state)
        if len(self._folded) >= FOLDED_KEPT:
            self._folded.clear()
        # As decoding the document would give it: nothing personal (case_state.PERSONAL).
        case_id = str(last.originator_id)
        kept = object.__new__(CaseState)  # a shallow copy: the folded state is not kept
        kept.__dict__.update(vars(state), person=None)
        self._folded[(case_id, last.originator_version)] = Folded(kept, days, last.timestamp)
        return {
            "id": case_id,
            "kind": state.kind.value,
            "referring": state.referring,
            "receiving": state.receiving,
            "side": side,
            "partner": state.receiving if side == "referring" else state.referring,
            "version": last.originator_version,
            "updated_at": last.timestamp.isoformat(),
            "state": encoded,
        }


class Order:
    """How a page of the board is sorted."""

    URGENT = "urgent"  # urgent cases first, then the most recently changed (the default)
    RECENT = "recent"  # the most recently changed first
    OLDEST = "oldest"  # the least recently changed first
    OVERDUE = "overdue"  # the longest overdue first, then those never overdue
    ALL = (URGENT, RECENT, OLDEST, OVERDUE)


@dataclass(frozen=True)
class BoardFilters:
    status: Status | None = None
    overdue: bool | None = None
    partner: str | None = None
    limit: int = 50
    offset: int = 0
    open: bool | None = None  # neither closed nor declined
    sort: str = Order.URGENT
    assigned_to: str | None = None  # the user's `sub` (assigned to them)


# -- what a read store indexes of a board document -----------------------------------

NEVER_DAY = "9999-12-31"  # a status no date changes; only an event does
NEVER = "9999-12-31T23:59:59.999999Z"  # no clock that can run out
ENDED = (Status.CLOSED.value, Status.DECLINED.value)
FOLDED_KEPT = 2_000  # states kept between folding and indexing: a batch's cases


def instant(at: datetime | str) -> str:
    """A time as the index keeps it: UTC, fixed width, so text order is time order."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True)
class BoardRow:
    """The indexed columns of one case on the board. `status` holds from the day
    `status_from` until the day `status_until` (a date of the state, such as an
    assessment's expiry, may change it then); `overdue_at` is when its first unmet clock
    runs out."""

    version: int
    status: str
    open: bool
    status_from: str
    status_until: str
    partner: str
    urgent: bool
    updated_at: str
    overdue_at: str
    assigned_to: str = ""  # "" while no one is
    approvals: int = 0  # requests pending a supervisor's decision

    def fresh(self, today: date) -> bool:
        return self.status_from <= today.isoformat() < self.status_until


@dataclass(frozen=True)
class Folded:
    """What folding a document's events gave besides the document, for indexing it: its
    state (nothing personal), the days of the dates and times in it, its last change."""

    state: CaseState
    days: set[date]
    updated_at: datetime


def board_row(doc: Doc, today: date, deadlines_for: DeadlinesFor = default_deadlines,
              folded: Folded | None = None) -> BoardRow:
    """The indexed columns of a document (`folded`: what its fold gave, if at hand)."""
    if folded is None:
        case = shell(decode_state(doc["state"]))
        current, until = status_span(case, _days(doc["state"]), today)
        updated_at: datetime | str = doc["updated_at"]
    else:
        case = shell(folded.state)
        current, until = status_span(case, folded.days, today)
        updated_at = folded.updated_at
    limits = deadlines_for(doc["referring"], doc["receiving"])
    due = [c.due_at for c in clocks(case, limits) if not c.met]
    return BoardRow(
        version=doc["version"], status=current.value, open=current.value not in ENDED,
        status_from=today.isoformat(), status_until=until.isoformat() if until else NEVER_DAY,
        partner=doc["partner"], urgent=bool(case.state.urgent),
        updated_at=instant(updated_at), overdue_at=instant(min(due)) if due else NEVER,
        assigned_to=case.state.assigned_to or "", approvals=len(case.state.approvals))


def status_span(case: Case, state_days: Iterable[date],
                today: date) -> tuple[Status, date | None]:
    """The status on `today`, and the first later day it differs (None: no day does).
    A status reads the time only as the day (`events.progress`), compared with the
    dates and times in the case's state (`state_days`, as days); so it can change only on
    one of those days or the day after one, and those are the only days to try."""
    current = status(case, _noon(today))
    days = sorted({d + timedelta(days=n) for d in state_days if d >= today
                   for n in (0, 1)} - {today})
    for day in days:
        if day > today and status(case, _noon(day)) is not current:
            return current, day
    return current, None


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def _days(encoded: Any) -> set[date]:
    """Every date and time in an encoded state (`projections.case_state`), as days: found
    in its JSON text (a tag is a key, so `"~d":"` is never inside a string, where its quotes
    would be escaped), each text read once however often the state holds it."""
    found = set(_TAGGED_DAY.findall(orjson.dumps(encoded)))
    return {date.fromisoformat(text.decode()) if tag == b"d"
            else utc(datetime.fromisoformat(text.decode())).date() for tag, text in found}


_TAGGED_DAY = re.compile(rb'"~([dt])":"([^"]+)"')


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
    legal_items: list[LegalItem] = field(default_factory=list)  # the same, as values
    reflection_period_ends: str | None = None  # while the period runs
    assigned_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BoardPage:
    items: list[BoardEntry]
    total: int  # matching the filters, before paging


def entry(doc: Doc, now: datetime, deadlines_for: DeadlinesFor = default_deadlines) -> BoardEntry:
    case = shell(decode_state(doc["state"]))
    limits = deadlines_for(doc["referring"], doc["receiving"])
    legal = legal_items(case, now)
    return BoardEntry(
        id=doc["id"], kind=doc["kind"], status=status(case, now).value, partner=doc["partner"],
        side=doc["side"], minor=case.state.minor, version=doc["version"],
        updated_at=doc["updated_at"],
        blocking=[Item(b.rule, case.agency(b.owed_by), b.detail) for b in blocking(case, now)],
        overdue=[OverdueClock(c.name, case.agency(c.owed_by), c.due_at.isoformat())
                 for c in overdue(case, now, limits)],
        urgent=case.state.urgent, legal_matters=[legal_matter(i) for i in legal],
        legal_items=legal, reflection_period_ends=_iso(reflection_ends(case, now)),
        assigned_to=case.state.assigned_to,
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def board_view(
    docs: Iterable[Doc], filters: BoardFilters, now: datetime,
    deadlines_for: DeadlinesFor = default_deadlines,
) -> BoardPage:
    """The board at `now`, every document read: what the read stores' indexed query
    (`services.readside`) answers without reading them all."""
    docs = list(docs)
    chosen = [
        e for e in (entry(d, now, deadlines_for) for d in docs
                    if filters.partner is None or d["partner"] == filters.partner)
        if (filters.status is None or e.status == filters.status.value)
        and (filters.overdue is None or bool(e.overdue) == filters.overdue)
        and (filters.open is None or (e.status not in ENDED) == filters.open)
        and (filters.assigned_to is None or e.assigned_to == filters.assigned_to)
    ]
    if filters.sort == Order.OVERDUE:
        due = {d["id"]: board_row(d, utc(now).date(), deadlines_for).overdue_at for d in docs}
        chosen.sort(key=lambda e: (due[e.id], e.id))
    else:
        chosen.sort(key=lambda e: (instant(e.updated_at), e.id),
                    reverse=filters.sort != Order.OLDEST)
        if filters.sort == Order.URGENT:
            chosen.sort(key=lambda e: not e.urgent)  # stable: recency holds within each group
    return BoardPage(chosen[filters.offset:filters.offset + filters.limit], len(chosen))
