"""Steps 14-16: transport is planned (or cancelled), the person departs, and the
receiving agency confirms arrival, which completes the two-party hand-off.

Planning and departure both pass the return's standing gate (`events.readiness`):
departure is refused with the first precondition the planned return no longer meets."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator

from events.case import Case, CaseEvent, Transport
from events.readiness import Blocker, Trip, planned_trip, return_blockers
from events.rules import RULES, FitToTravel, Sequence
from events.step import Body, Owner, Step
from events.steps.referral import Reason
from events.steps.return_ import check_accepted
from events.values import Actor, Scope


class TransportPlan(Body):
    mode: Literal["air", "land", "sea"]
    route: str = Field(min_length=1, max_length=500)
    departure_at: AwareDatetime
    arrival_at: AwareDatetime
    escort: str = Field(min_length=1, max_length=200)
    escort_organisation: str | None = Field(default=None, min_length=1, max_length=200)
    medical_escort: bool
    fit_to_travel: bool

    @field_validator("arrival_at")
    @classmethod
    def _arrives_after_departure(cls, value: datetime, info: ValidationInfo) -> datetime:
        departure = info.data.get("departure_at")
        if departure is not None and value <= departure:
            raise ValueError("must be after departure_at")
        return value


class Departure(Body):
    departed_at: AwareDatetime
    happened = ("departed_at",)


class Arrival(Body):
    arrived_at: AwareDatetime
    received_by: str = Field(min_length=1, max_length=200)
    happened = ("arrived_at",)


class TransportPlanned(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.transport = Transport(
            departure_at=datetime.fromisoformat(self.data["departure_at"]),
            arrival_at=datetime.fromisoformat(self.data["arrival_at"]),
            fit_to_travel=self.data.get("fit_to_travel"),
        )


class TransportCancelled(CaseEvent):
    """Before departure, or after an incident in transit (the journey did not happen)."""

    def change(self, case: Case) -> None:
        case.state.transport = None
        case.state.departed_at = None
        case.state.incident = None


class DepartureConfirmed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.departed_at = datetime.fromisoformat(self.data["departed_at"])


class ArrivalConfirmed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.arrived_at = datetime.fromisoformat(self.data["arrived_at"])
        case.state.incident = None


def check_plan(case: Case, body: TransportPlan, actor: Actor, at: datetime) -> None:
    if case.state.departed_at is not None:
        raise Sequence("the person has already departed")
    if not body.fit_to_travel:
        raise FitToTravel("the person was not found fit to travel")
    trip = Trip(arrival=body.arrival_at.date(), fit_to_travel=body.fit_to_travel)
    refuse_first(case, return_blockers(case, at, trip))


def refuse_first(case: Case, blockers: list[Blocker]) -> None:
    for blocker in blockers:
        raise RULES[blocker.rule](f"waiting on {case.agency(blocker.owed_by)}: {blocker.detail}")


def check_cancellable(case: Case, body: Reason, actor: Actor, at: datetime) -> None:
    check_accepted(case, body, actor, at)
    s = case.state
    if s.transport is None or (s.departed_at is not None and s.incident is None):
        raise Sequence("there is no planned transport that has not departed, "
                       "and no incident in transit")
    if s.arrived_at is not None:
        raise Sequence("the person has arrived")


def check_departure(case: Case, body: Departure, actor: Actor, at: datetime) -> None:
    """The standing gate, once more, at the moment of departure."""
    check_accepted(case, body, actor, at)
    if case.state.transport is None:
        raise Sequence("departure only after transport is planned")
    if case.state.departed_at is not None:
        raise Sequence("departure was already confirmed")
    refuse_first(case, return_blockers(case, at, planned_trip(case)))


def check_arrival(case: Case, body: Arrival, actor: Actor, at: datetime) -> None:
    check_accepted(case, body, actor, at)
    departed = case.state.departed_at
    if departed is None:
        raise Sequence("arrival only after departure")
    if case.state.arrived_at is not None:
        raise Sequence("arrival was already confirmed")
    if body.arrived_at < departed:
        raise Sequence("arrival cannot precede departure")



STEPS = [
    Step("transport", TransportPlanned, Owner.REFERRING, TransportPlan, check_plan,
         repatriation_only=True, halted_on_hold=True,
         protected={Scope.SHARE_HEALTH: ("medical_escort", "fit_to_travel")}),
    Step("transport-cancellation", TransportCancelled, Owner.REFERRING, Reason, check_cancellable,
         repatriation_only=True, protected={Scope.SHARE_IDENTITY: ("reason",)}),
    Step("departure", DepartureConfirmed, Owner.REFERRING, Departure, check_departure,
         repatriation_only=True, halted_on_hold=True),
    Step("arrival", ArrivalConfirmed, Owner.RECEIVING, Arrival, check_arrival,
         repatriation_only=True),
]
