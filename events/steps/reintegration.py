"""Steps 17-20: shelter, the reintegration plan, services and follow-ups, all
recorded by the receiving agency once the person is home (or, for a referral,
once it accepted)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from events.case import Case, CaseEvent
from events.deadlines import MONTH
from events.rules import Sequence
from events.step import Body, Owner, Step
from events.values import Actor, Kind, Scope, Side

ServiceName = Literal[
    "medical", "psychosocial", "legal", "education", "vocational", "income", "housing", "family"
]


# Services that tell of the person's health: their kind and provider cross only under
# `share_health` (the partner otherwise learns that a service was delivered, and when).
HEALTH_SERVICES = ("medical", "psychosocial")


def health_details(case: Case, data: Mapping[str, Any]) -> tuple[str, ...]:
    if data.get("service") in HEALTH_SERVICES and not case.consented(Scope.SHARE_HEALTH):
        return ("service", "provider")
    return ()


class ShelterAdmission(Body):
    shelter: str = Field(min_length=1, max_length=200)
    admitted_on: date
    happened = ("admitted_on",)


class ShelterExit(Body):
    shelter: str = Field(min_length=1, max_length=200)
    left_on: date
    happened = ("left_on",)


class ReintegrationPlan(Body):
    services: list[ServiceName] = Field(min_length=1)


class Service(Body):
    service: ServiceName
    delivered_on: date
    provider: str = Field(min_length=1, max_length=200)
    happened = ("delivered_on",)


class FollowUp(Body):
    month: int = Field(ge=1, le=60)
    wellbeing: Literal["good", "fair", "poor"]
    retrafficking_risk: bool


def side_of_event(data: dict[str, Any]) -> Side:
    # Before help on both sides, only the receiving agency recorded these.
    return Side(data.get("side", Side.RECEIVING.value))


class ShelterAdmitted(CaseEvent):
    def change(self, case: Case) -> None:
        if side_of_event(self.data) is Side.REFERRING:
            case.state.in_shelter_before_departure = True
        else:
            case.state.in_shelter = True


class ShelterLeft(CaseEvent):
    def change(self, case: Case) -> None:
        if side_of_event(self.data) is Side.REFERRING:
            case.state.in_shelter_before_departure = False
        else:
            case.state.in_shelter = False


class ReintegrationPlanAgreed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.plan_services = list(self.data["services"])


class ServiceDelivered(CaseEvent):
    def change(self, case: Case) -> None:
        if side_of_event(self.data) is Side.REFERRING:
            case.state.services_before_departure += 1
        else:
            case.state.services_delivered += 1


class FollowUpRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        month = int(self.data["month"])
        case.state.follow_up_months.add(month)
        counts_from = follow_up_counts_from(case, month)
        if counts_from is not None and self.timestamp >= counts_from:
            case.state.follow_ups_counted.add(month)
        if self.data["retrafficking_risk"]:  # an escalation until a new assessment and plan
            case.state.retrafficking_risk = True


def home_since(case: Case) -> datetime | None:
    """When reintegration began: arrival, or for a referral the acceptance."""
    s = case.state
    return s.arrived_at if s.kind is Kind.REPATRIATION else s.accepted_at


def follow_up_counts_from(case: Case, month: int) -> datetime | None:
    """A follow-up for month M counts for closure only from M - 1 months after arrival."""
    since = home_since(case)
    return since + (month - 1) * MONTH if since is not None else None


def check_home(case: Case, body: Body, actor: Actor, at: datetime) -> None:
    s = case.state
    if s.kind is Kind.REPATRIATION and s.arrived_at is None:
        raise Sequence("reintegration starts once arrival is confirmed")
    if s.kind is Kind.REFERRAL and s.accepted_at is None:
        raise Sequence("assistance starts once the referral is accepted")


def check_before_departure(case: Case) -> None:
    """The referring agency helps in its own country while the person is there."""
    s = case.state
    if s.departed_at is not None or s.arrived_at is not None:
        raise Sequence("the referring agency records its help before departure")
    if s.kind is Kind.REFERRAL and s.stay_decided_on is None and s.accepted_at is not None:
        raise Sequence("the person is helped at home by the receiving agency")


def check_either_side(case: Case, body: Body, actor: Actor, at: datetime) -> None:
    if case.side_of(actor.agency) is Side.REFERRING:
        check_before_departure(case)
    else:
        check_home(case, body, actor, at)


def check_in_shelter(case: Case, body: ShelterExit, actor: Actor, at: datetime) -> None:
    check_either_side(case, body, actor, at)
    there = (case.state.in_shelter_before_departure
             if case.side_of(actor.agency) is Side.REFERRING else case.state.in_shelter)
    if not there:
        raise Sequence("the person is not in a shelter")


def check_plan_agreed(case: Case, body: Service, actor: Actor, at: datetime) -> None:
    if case.side_of(actor.agency) is Side.REFERRING:
        check_before_departure(case)
        return
    check_home(case, body, actor, at)
    if case.state.plan_services is None:
        raise Sequence("services are delivered under an agreed reintegration plan")


def check_accepted_for_plan(case: Case, body: Body, actor: Actor, at: datetime) -> None:
    if case.state.accepted_at is None:
        raise Sequence("the reintegration plan is agreed once the referral is accepted")


STEPS = [
    Step("shelter-admission", ShelterAdmitted, Owner.EITHER, ShelterAdmission,
         check_either_side, sided=True),
    Step("shelter-exit", ShelterLeft, Owner.EITHER, ShelterExit, check_in_shelter, sided=True),
    Step("reintegration-plan", ReintegrationPlanAgreed, Owner.RECEIVING, ReintegrationPlan,
         check_accepted_for_plan),
    Step("service", ServiceDelivered, Owner.EITHER, Service, check_plan_agreed, sided=True,
         withheld=health_details),
    Step("follow-up", FollowUpRecorded, Owner.RECEIVING, FollowUp, check_home,
         protected={Scope.SHARE_HEALTH: ("wellbeing",)}),
]
