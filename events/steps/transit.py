"""Incidents in transit: between departure and arrival, either agency records what went
wrong. The case is on hold at both agencies, with an escalation on both boards, until
arrival is confirmed or the transport is cancelled. `details` stays with the agency."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from events.case import Case, CaseEvent
from events.deadlines import Deadlines
from events.rules import Sequence, StepOwner
from events.step import Body, Owner, Step
from events.values import Actor, Side

IncidentKind = Literal[
    "did_not_board", "withdrew_in_transit", "missing", "detained", "medical", "not_arrived"
]


class TransitIncident(Body):
    kind: IncidentKind
    occurred_at: AwareDatetime
    details: str | None = Field(default=None, min_length=1, max_length=4000)
    happened = ("occurred_at",)


class TransitIncidentRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.incident = self.data["kind"]


def check_in_transit(case: Case, body: TransitIncident, actor: Actor, at: datetime) -> None:
    s = case.state
    if s.departed_at is None or s.transport is None:
        raise Sequence("an incident in transit is recorded once the person departed")
    if s.arrived_at is not None:
        raise Sequence("the person has arrived")
    if body.kind == "not_arrived":
        if case.side_of(actor.agency) is not Side.RECEIVING:
            raise StepOwner("only the receiving agency records that the person never arrived")
        due = s.transport.arrival_at + Deadlines().confirm_arrival
        if at <= due:
            raise Sequence(f"the confirm-arrival clock runs until {due.isoformat()}")


STEPS = [
    Step("transit-incident", TransitIncidentRecorded, Owner.EITHER, TransitIncident,
         check_in_transit, repatriation_only=True, sided=True, local_only=("details",)),
]
