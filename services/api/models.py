"""Response bodies. (Request bodies are the domain's own: `OpenCase` and each
step's `Step.body`.)"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from events.values import Kind, Side, Status


class Recorded(BaseModel):
    id: UUID
    version: int
    status: Status


class Blocking(BaseModel):
    rule: str
    owed_by: str  # the agency code
    detail: str


class ClockView(BaseModel):
    name: str
    owed_by: str
    due_at: datetime
    met: bool
    overdue: bool


class CaseView(BaseModel):
    id: UUID
    version: int
    kind: Kind
    status: Status
    side: Side  # this agency's side of the case
    referring: str
    receiving: str
    partner: str
    minor: bool
    consent: list[str]
    on_hold: bool
    closed: bool
    closure_reason: str | None
    referred_at: datetime | None
    accepted_at: datetime | None
    departed_at: datetime | None
    arrived_at: datetime | None
    blocking: list[Blocking]
    clocks: list[ClockView]
    overdue: list[ClockView]
    urgent: bool = False
    legal_matters: list[str] = []  # the referring agency's: proceedings, legal aid, compensation
    reflection_period_ends: date | None = None  # while the reflection period runs
    as_of: datetime
    person: dict[str, Any] | None = None  # only for the agency's caseworkers and supervisors


class TimelineEntry(BaseModel):
    seq: int
    type: str
    occurred_at: datetime
    recorded_by: str
    actor: str
    data: dict[str, Any]
    hash: str
    prev_hash: str
    message_id: str | None  # set for facts received from the partner
    sender_hash: str | None = None  # the hash of the fact in the partner's own stream
    redacted: list[str] = []  # personal fields left out for this reader


class Timeline(BaseModel):
    id: UUID
    events: list[TimelineEntry]


class CaseSummary(BaseModel):
    id: UUID
    version: int
    kind: Kind
    status: Status
    side: Side
    partner: str
    updated_at: datetime | None
    blocking: list[Blocking]
    overdue: list[ClockView]
    urgent: bool = False
    legal_matters: list[str] = []
    reflection_period_ends: date | None = None


class Board(BaseModel):
    items: list[CaseSummary]
    total: int
    limit: int
    offset: int


class Handoff(BaseModel):
    id: UUID
    side: Side
    partner: str
    departed_at: datetime
    expected_arrival: datetime | None
    confirm_by: datetime | None  # when the arrival clock runs out
    owed_by: str
    overdue: bool
    incident: str | None = None  # an unresolved incident in transit (its kind)


class Handoffs(BaseModel):
    items: list[Handoff]
    total: int
    limit: int
    offset: int


class ChainBreak(BaseModel):
    case_id: UUID
    version: int
    type: str
    reason: str


class Verification(BaseModel):
    ok: bool
    cases: int
    events: int
    breaks: list[ChainBreak]
