"""After the hand-off as before it, the person is protected: either agency records a
threat, contact by the traffickers, a new exploitation, violence or a disappearance.

An incident is an escalation at both agencies, owed by the agency where the person is
(the referring agency until arrival, the receiving agency once the person is home),
until that agency records a new risk assessment with a safety plan
(`events.steps.risk`). Before departure it also holds the return through the standing
gate (`protection-incident`, events.readiness). Its details stay with the agency that
wrote them: the partner learns the kind and the date only."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from events.case import Case, CaseEvent
from events.step import Body, Owner, Step
from events.values import Kind, Side

IncidentKind = Literal["threat", "contact_by_traffickers", "re_trafficked", "violence",
                       "missing", "other"]


class ProtectionIncident(Body):
    kind: IncidentKind
    occurred_on: date
    details: str | None = Field(default=None, min_length=1, max_length=4000)
    happened = ("occurred_on",)


class ProtectionIncidentRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.protection_incident = self.data["kind"]
        case.state.protection_incident_owed_by = where_the_person_is(case)


def where_the_person_is(case: Case) -> Side:
    """The side whose agency is with the person: the receiving agency once the person is
    home (arrived, or a referral accepted), the referring agency before, or after a stay."""
    s = case.state
    if s.arrived_at is not None:
        return Side.RECEIVING
    if s.kind is Kind.REFERRAL and s.accepted_at is not None and s.stay_decided_on is None:
        return Side.RECEIVING
    return Side.REFERRING


STEPS = [
    Step("protection-incident", ProtectionIncidentRecorded, Owner.EITHER, ProtectionIncident,
         sided=True, local_only=("details",)),
]
