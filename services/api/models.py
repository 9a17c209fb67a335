"""Response bodies. (Request bodies are the domain's own: `OpenCase` and each
step's `Step.body`.)"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from events.progress import LegalItem  # a dataclass: pydantic reads and writes it as it is
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
    legal_items: list[LegalItem] = []  # the same, as values
    reflection_period_ends: date | None = None  # while the reflection period runs
    assigned_to: str | None = None  # the agency's user who holds the case
    as_of: datetime
    person: dict[str, Any] | None = None  # only for the agency's caseworkers and supervisors
    transferred_from: UUID | None = Field(
        default=None, description="the case this one continues after a transfer (the "
        "referring agency's own: the new partner never learns it)")


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
    # Of an own event sent to the partner: when the partner's receipt arrived (null before).
    delivered_at: datetime | None = None
    redacted: list[str] = []  # personal fields left out for this reader
    approved_by: str | None = None  # the supervisor who approved the step (four eyes)
    shared: bool = False  # this agency's own fact, sent to the partner (see delivered_at)


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
    legal_items: list[LegalItem] = []  # the same, as values
    reflection_period_ends: date | None = None
    assigned_to: str | None = None  # the agency's user who holds the case


class ApprovalRequested(BaseModel):
    request_id: UUID
    case_id: UUID
    version: int  # the case's, after the request
    step: str


class ApprovalView(BaseModel):
    id: UUID
    case_id: UUID
    step: str
    requested_by: str
    requested_at: datetime
    status: Literal["pending"]
    assigned_to: str | None = None  # who holds the case
    body: dict[str, Any] | None = None  # what is asked (personal: the read is access-logged)
    reason: str | None = None


class Approvals(BaseModel):
    items: list[ApprovalView]
    total: int
    limit: int
    offset: int


class Decided(BaseModel):
    request_id: UUID
    case_id: UUID
    version: int
    step: str
    decision: Literal["approved", "rejected"]
    status: Status  # the case's, after the decision


class Board(BaseModel):
    items: list[CaseSummary]
    total: int
    limit: int
    offset: int
    # Messages to partners still without a receipt after HOMEWARD_UNDELIVERED_AFTER_SECONDS.
    undelivered: int = 0


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
    type: str  # the event's type; "" when the event is not in the stream (cut off, deleted)
    reason: str
    # chain, truncated, rewritten, deleted, forged-fact, checkpoint (services/anchors/verify.py)
    fault: str = "chain"


class Verification(BaseModel):
    ok: bool
    cases: int
    events: int
    breaks: list[ChainBreak]


# -- anchors: what a partner compares, the cross-check, the access log ---------------

class Head(BaseModel):
    version: int
    hash: str


class SentMessage(BaseModel):
    sequence: int
    digest: str  # the message's integrity.hash, recomputed from the stream
    version: int  # the event it carried
    hash: str  # that event's hash in the sender's chain


class ReceivedDigest(BaseModel):
    sequence: int
    sender_hash: str
    version: int
    hash: str  # the fact's hash in this agency's chain


class CarriedMessage(BaseModel):
    sequence: int
    hash: str


class SignedCheckpoint(BaseModel):
    case_id: UUID
    agency: str
    version: int
    hash: str
    at: str
    key_id: str
    signature: str
    message: CarriedMessage | None = None


class ChainView(BaseModel):
    """A case's chain as the partner may compare it: hashes only, nothing personal."""

    case_id: UUID
    agency: str
    head: Head
    erased: bool
    sent: list[SentMessage]
    received: list[ReceivedDigest]
    checkpoints: list[SignedCheckpoint]


class DivergenceView(BaseModel):
    agency: str
    kind: str
    where: str
    detail: str


class CrossCheck(BaseModel):
    case_id: UUID
    partner: str
    ok: bool
    first: DivergenceView | None
    divergences: list[DivergenceView]


class AccessEntry(BaseModel):
    at: datetime
    agency: str
    sub: str
    what: str
    purpose: str | None
    purpose_erased: bool = Field(
        default=False, description="a purpose was given and went with the case's erasure")


class AccessView(BaseModel):
    case_id: UUID
    entries: list[AccessEntry]


class NoteView(BaseModel):
    seq: int = Field(description="the note's place in the case's stream")
    added_at: datetime
    added_by: str
    text: str | None = Field(description="null once the case was erased")
    erased: bool = False


class NoteList(BaseModel):
    id: UUID
    notes: list[NoteView]


class DocumentView(BaseModel):
    id: UUID
    name: str
    content_type: str
    size: int = Field(description="bytes")
    sha256: str = Field(description="of the content, hex")
    added_by: str
    added_at: datetime


class DocumentList(BaseModel):
    id: UUID
    documents: list[DocumentView]
    erased: bool = Field(default=False, description="the case was erased, its documents too")
