"""Step 3, asylum claims. They never leave the referring agency: the country of
origin must not learn that the person sought protection from it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from events.case import Case, CaseEvent
from events.rules import Sequence
from events.step import Body, Owner, Step
from events.values import Actor


class AsylumClaim(Body):
    lodged_on: date


class AsylumClaimClosure(Body):
    outcome: Literal["granted", "refused", "withdrawn"]


class AsylumClaimRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.asylum_open = True


class AsylumClaimClosed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.asylum_open = False


def check_no_open_claim(case: Case, body: AsylumClaim, actor: Actor, at: datetime) -> None:
    if case.state.asylum_open:
        raise Sequence("an asylum claim is already open")


def check_open_claim(case: Case, body: AsylumClaimClosure, actor: Actor, at: datetime) -> None:
    if not case.state.asylum_open:
        raise Sequence("there is no open asylum claim to close")


STEPS = [
    Step("asylum-claim", AsylumClaimRecorded, Owner.REFERRING, AsylumClaim,
         check_no_open_claim, shared=False),
    Step("asylum-claim-closure", AsylumClaimClosed, Owner.REFERRING, AsylumClaimClosure,
         check_open_claim, shared=False),
]
