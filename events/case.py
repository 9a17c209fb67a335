"""The Case aggregate: one person's cross-border process, as one agency's stream.

Every step goes through `Case.record`: the step-owner and sequence rules, then the
step's own guard, then its event. Guards raise before any event is triggered, so
a refused step leaves the case unchanged. Every event carries `prev_hash` and
`hash`, so the stream is a chain from its first event.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from events.chain import GENESIS, commitment, digest
from events.copying import copied_object
from events.event import CaseEvent, sealed_content
from events.rules import ConsentWithdrawalHalts, DataMinimisation, Sequence, StepOwner
from events.values import Actor, Kind, Received, RiskLevel, Scope, Side

if TYPE_CHECKING:
    from events.step import Step


def utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a clock must give timezone-aware times")
    return at.astimezone(UTC)


@dataclass
class Assessment:
    level: RiskLevel
    valid_until: date
    safety_plan_in_place: bool  # the plan's text stays in the event of the side that wrote it


@dataclass
class Transport:
    departure_at: datetime
    arrival_at: datetime
    fit_to_travel: bool | None = None  # None: not shared without consent `share_health`


@dataclass
class Measure:
    """A protective measure a side's authorities ordered, and the day it ends."""

    side: Side
    valid_until: date


@dataclass
class Proceeding:
    """A legal proceeding the person takes part in, and whether they were told of its news."""

    role: str
    stage: str | None = None
    next_hearing_on: date | None = None
    open: bool = True
    uninformed_since: datetime | None = None  # an update the person was not yet told of
    # Once the person is home: the day the receiving agency told the person of news that
    # had gone untold since `untold_from` (events.steps.justice_home).
    told_from_home_on: date | None = None
    untold_from: datetime | None = None


@dataclass
class OpenJusticeRequest:
    """What the referring agency asked the receiving agency to do for the person's access to
    justice once home, and by when. An `inform_person` request covers the news of each
    proceeding the person had not been told of when it was sent (`untold`: known at the
    referring agency only)."""

    requested_on: date
    due_on: date
    hearing_on: date | None = None
    untold: list[str] = field(default_factory=list)


@dataclass
class Approval:
    """A step a user asked a supervisor to approve (four eyes), while it is pending."""

    step: str
    side: Side  # the agency that asked, which owes the decision
    requested_by: str
    requested_at: datetime


@dataclass
class CaseState:
    """Everything the rules and the status need, derived from the events."""

    kind: Kind = Kind.REPATRIATION
    referring: str = ""
    receiving: str = ""
    minor: bool = False
    urgent: bool = False
    age_assessment: str | None = None  # disputed, minor, adult
    guardian_appointed: bool = False
    incapacity_found: bool = False
    reflection_ends: date | None = None
    early_return_requested: bool = False  # by the person, within the reflection period
    person: dict[str, Any] | None = None
    opened_at: datetime | None = None  # when the case was opened (at this agency)
    opened_on: date | None = None  # the day the case was opened (the age band's day)
    exploitation_forms: list[str] | None = None  # the trafficking profile's, once recorded
    consent: set[Scope] = field(default_factory=set)
    refer_to: str | None = None  # the agency the latest consent to `refer` names (a transfer)
    transferred_from: str | None = None  # the case this one was transferred from, if any
    override: bool = False
    asylum_open: bool = False
    protection_granted: bool = False
    hold_announced: bool = False  # the referring agency told its partner the return is held
    partner_held: bool = False  # the partner (referring agency) holds the return
    referred_at: datetime | None = None
    acknowledged_at: datetime | None = None
    accepted_at: datetime | None = None
    declined_at: datetime | None = None
    identity_requested_at: datetime | None = None
    identity_verified_at: datetime | None = None
    identity_result: str | None = None  # the last verification's: confirmed, not_confirmed
    risk: dict[Side, Assessment] = field(default_factory=dict)
    return_decision_ok: bool = False
    return_steps: int = 0
    best_interests_in_favour: bool | None = None
    caregiver_confirmed: bool = False
    other_caregiver_named: bool = False  # by the best-interests determination
    family_tracing: str | None = None  # the last tracing's result (found_suitable, ...)
    proceedings_open: bool = False
    proceedings_cleared: bool = False
    proceedings: dict[str, Proceeding] = field(default_factory=dict)
    legal_assistance_from: date | None = None
    penalty_matters: dict[str, bool] = field(default_factory=dict)  # open, by kind: linked?
    protection_measures: dict[str, Measure] = field(default_factory=dict)  # by kind
    compensation: str | None = None  # claimed, awarded, refused, paid
    justice_requests: dict[str, OpenJusticeRequest] = field(default_factory=dict)  # open, by kind
    stay_decided_on: date | None = None
    residence_permit: str | None = None  # applied, granted, refused
    travel_document_until: date | None = None
    reception_from: date | None = None
    transport: Transport | None = None
    departed_at: datetime | None = None
    incident: str | None = None  # an unresolved incident in transit, by kind
    arrived_at: datetime | None = None
    in_shelter: bool = False
    in_shelter_before_departure: bool = False  # a shelter of the referring agency's
    plan_services: list[str] | None = None
    services_delivered: int = 0
    services_before_departure: int = 0  # by the referring agency, in its country
    follow_up_months: set[int] = field(default_factory=set)
    follow_ups_counted: set[int] = field(default_factory=set)  # recorded once they were due
    # A follow-up found the person at risk of being trafficked again; a receiving risk
    # assessment with a safety plan recorded after it answers it.
    retrafficking_risk: bool = False
    # A protection incident (by kind) not yet answered by a new assessment with a safety
    # plan from the agency where the person was when it was recorded.
    protection_incident: str | None = None
    protection_incident_owed_by: Side | None = None
    on_hold: bool = False
    closed: bool = False
    closure_reason: str | None = None
    phase_owner_at_closure: Side | None = None
    erased: bool = False
    assigned_to: str | None = None  # the agency's user who holds the case (local)
    approvals: dict[str, Approval] = field(default_factory=dict)  # pending, by request id

    def __deepcopy__(self, memo: dict[int, Any]) -> CaseState:
        """A copy that shares nothing the steps change in place (events/copying.py): each
        command and each received fact copies its cached case, state and all."""
        twin: CaseState = copied_object(self, memo)
        return twin


class Case(Aggregate):
    """One agency's stream of one case."""

    def __init__(self) -> None:
        self.state = CaseState()
        self.last_hash = GENESIS
        self.last_at: datetime | None = None
        self.message_ids: set[str] = set()
        self.last_sequence: dict[str, int] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> Case:
        """The copy a command changes (events/copying.py)."""
        twin: Case = copied_object(self, memo)
        return twin

    # -- who owns what -------------------------------------------------------

    def agency(self, side: Side) -> str:
        return self.state.referring if side is Side.REFERRING else self.state.receiving

    def side_of(self, agency: str) -> Side | None:
        if agency == self.state.referring:
            return Side.REFERRING
        if agency == self.state.receiving:
            return Side.RECEIVING
        return None

    def phase_owner(self) -> Side:
        """Closure and reopening belong to whoever holds the current phase."""
        s = self.state
        if s.closed and s.phase_owner_at_closure is not None:
            return s.phase_owner_at_closure
        if s.arrived_at is not None:
            return Side.RECEIVING
        if s.kind is Kind.REFERRAL and s.accepted_at is not None:
            return Side.RECEIVING
        return Side.REFERRING

    def consented(self, scope: Scope) -> bool:
        return scope in self.state.consent

    # -- recording -----------------------------------------------------------

    def record(
        self, step: Step, data: Mapping[str, Any], actor: Actor, at: datetime,
        received: Received | None = None,
    ) -> CaseEvent:
        """Record a step after every rule allowed it; return the new event."""
        at = utc(at)
        owner = self._check_owner(step, actor, received)
        self._check_sequence(step)
        if step.repatriation_only and self.state.kind is not Kind.REPATRIATION:
            raise Sequence(f"{step.path} applies to repatriation cases only")
        if received is None:
            if step.automatic:
                raise Sequence(f"{step.path} is recorded by the case itself")
            body = step.body.model_validate(dict(data))
            body.check_not_in_future(at)
            if step.guard is not None:
                step.guard(self, body, actor, at)
            payload = body.model_dump(mode="json", exclude_none=True)
            if step.sided:
                payload["side"] = owner.value
        else:
            if step.sided and data.get("side") != owner.value:
                # A partner's assessment speaks for its own side only.
                raise StepOwner(f"{received.sender} cannot record the {data.get('side')} "
                                f"side of {step.path}")
            self._check_minimised(step, data)
            payload = dict(data)
        self._trigger(step.event, payload, actor, at, received, step.personal)
        event = self.pending_events[-1]
        assert isinstance(event, CaseEvent)
        if received is None and step.then is not None:
            step.then(self, actor, at)
        return event

    def _check_owner(self, step: Step, actor: Actor, received: Received | None) -> Side:
        agency = received.sender if received is not None else actor.agency
        side = self.side_of(agency)
        if side is None:
            raise StepOwner(f"{agency} is not an agency of this case")
        owner = step.owner_side(self, side)
        if owner is not side:
            raise StepOwner(f"{step.path} is owned by {self.agency(owner)}, not {agency}")
        return side

    def _check_sequence(self, step: Step) -> None:
        if self.state.erased:
            raise Sequence(f"the case's personal data was erased; nothing follows, not {step.path}")
        if self.state.closed and not step.reopens and not step.after_closure:
            raise Sequence(f"the case is closed; only a reopening may follow, not {step.path}")
        if step.reopens and not self.state.closed:
            raise Sequence("only a closed case can be reopened")
        if self.state.on_hold and step.halted_on_hold:
            raise ConsentWithdrawalHalts(
                f"the case is on hold after consent to return was withdrawn; {step.path} waits"
            )

    def _check_minimised(self, step: Step, data: Mapping[str, Any]) -> None:
        local = [f for f in step.local_only if f in data]
        if local:
            raise DataMinimisation(f"{', '.join(local)} never crosses the border")
        for scope, fields in step.protected.items():
            carried = [f for f in fields if f in data]
            if carried and not self.consented(scope):
                raise DataMinimisation(
                    f"{', '.join(carried)} crossed the border "
                    f"without active consent scope {scope.value}"
                )
        withheld = [f for f in step.withheld(self, data) if f in data] if step.withheld else []
        if withheld:
            raise DataMinimisation(f"{', '.join(withheld)} crossed the border without the "
                                   "consent it needs")
        if not step.crossing(data):
            raise DataMinimisation(f"{step.path} crosses the border only with the person's "
                                   "agreement to share it")

    def follow_with(self, event_class: type[CaseEvent], data: Mapping[str, Any], actor: Actor,
                    at: datetime, personal: tuple[str, ...] = ()) -> None:
        """Record an event that is no step: one the case itself owes after a step (see
        `Step.then`), or the agency's own casework (events/casework.py)."""
        self._trigger(event_class, data, actor, utc(at), None, personal)

    def _trigger(
        self, event_class: type[CaseEvent], data: Mapping[str, Any], actor: Actor,
        at: datetime, received: Received | None, personal: tuple[str, ...] = (),
    ) -> None:
        self.trigger_event(
            event_class,
            **sealed(event_class, self.id, self.version + 1, at, data, actor, received,
                     self.last_hash, personal),
        )

    @classmethod
    def opened(
        cls, event_class: type[CaseEvent], case_id: UUID, data: Mapping[str, Any], actor: Actor,
        at: datetime, received: Received | None = None, personal: tuple[str, ...] = (),
    ) -> Case:
        """Start a stream: locally by the referring agency, or from the partner's message."""
        kwargs = sealed(event_class, case_id, cls.INITIAL_VERSION, utc(at), data, actor,
                        received, GENESIS, personal)
        return cls._create(event_class, id=case_id, **kwargs)  # type: ignore[arg-type]


def sealed(
    event_class: type[CaseEvent], case_id: UUID, version: int, at: datetime,
    data: Mapping[str, Any], actor: Actor, received: Received | None, prev_hash: str,
    personal: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The event's attributes, with the hash over its content and its predecessor's hash;
    each personal field is hashed as a salted commitment (events.chain.commitment)."""
    recorded_by = received.sender if received is not None else actor.agency
    who = f"{received.sender} (message)" if received is not None else actor.sub
    rec = received.as_dict() if received is not None else None
    salts = {name: secrets.token_hex(16) for name in personal if name in data}
    commitments = {name: commitment(salt, data[name]) for name, salt in salts.items()}
    approved_by = actor.approved_by if received is None else None
    content = sealed_content(
        event_class.__name__, case_id, version, at, recorded_by, who, data, rec, prev_hash,
        commitments, approved_by,
    )
    return {
        "timestamp": at, "data": dict(data), "recorded_by": recorded_by, "actor": who,
        "received": rec, "prev_hash": prev_hash, "hash": digest(content),
        "commitments": commitments, "salts": salts, "approved_by": approved_by,
    }
