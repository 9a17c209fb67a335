"""Choosing to stay: a repatriation becomes a referral at both agencies, and the
residence permit the person applies for in the destination country.

The partner learns that the person stays and when it was decided, never on what
basis (asylum, a residence permit): that stays with the referring agency, as does
every residence-permit step (docs/cross-border.md).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from events.case import Case, CaseEvent
from events.rules import Sequence
from events.step import Body, Owner, Step
from events.values import Actor, Kind


class StayDecision(Body):
    decided_on: date
    basis: Literal["residence_permit", "asylum", "other"]


class ResidencePermit(Body):
    applied_on: date
    outcome: Literal["pending", "granted", "refused"]
    decided_on: date | None = None


class StayDecided(CaseEvent):
    """Return tasks end; the cross-border help (tracing, documents, later support at
    home) goes on as a referral."""

    def change(self, case: Case) -> None:
        s = case.state
        s.kind = Kind.REFERRAL
        s.stay_decided_on = date.fromisoformat(self.data["decided_on"])
        s.transport = None
        s.on_hold = False


class ResidencePermitRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.residence_permit = self.data["outcome"]


def check_stay(case: Case, body: StayDecision, actor: Actor, at: datetime) -> None:
    s = case.state
    if s.kind is not Kind.REPATRIATION:
        raise Sequence("only a repatriation turns into a referral; this case is one already")
    if s.departed_at is not None:
        raise Sequence("the person has already departed")


STEPS = [
    Step("stay-decision", StayDecided, Owner.REFERRING, StayDecision, check_stay,
         local_only=("basis",)),
    Step("residence-permit", ResidencePermitRecorded, Owner.REFERRING, ResidencePermit,
         shared=False),
]
