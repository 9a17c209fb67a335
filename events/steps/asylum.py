"""Step 3, asylum claims. They never leave the referring agency: the country of
origin must not learn that the person sought protection from it. It learns only
that the return is held (`events.steps.hold`). While a claim is open no return
step goes ahead; once protection is granted, none ever does (non-refoulement)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from events.case import Case, CaseEvent
from events.rules import AsylumGuard, Sequence
from events.step import Body, Owner, Step
from events.steps.hold import tell_partner_of_hold
from events.values import Actor


class AsylumClaim(Body):
    lodged_on: date
    happened = ("lodged_on",)


class AsylumClaimClosure(Body):
    outcome: Literal["granted", "refused", "withdrawn"]


class AsylumClaimRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.asylum_open = True


class AsylumClaimClosed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.asylum_open = False
        if self.data["outcome"] == "granted":
            case.state.protection_granted = True


def check_return_not_barred(case: Case) -> None:
    """asylum-guard for returns: none while a claim is open, none once protection is granted."""
    if case.state.protection_granted:
        raise AsylumGuard("protection was granted: the person is not returned")
    if case.state.asylum_open:
        raise AsylumGuard("an asylum claim is open: no return step goes ahead")


def check_no_open_claim(case: Case, body: AsylumClaim, actor: Actor, at: datetime) -> None:
    if case.state.asylum_open:
        raise Sequence("an asylum claim is already open")
    if case.state.protection_granted:
        raise Sequence("protection was already granted")


def check_open_claim(case: Case, body: AsylumClaimClosure, actor: Actor, at: datetime) -> None:
    if not case.state.asylum_open:
        raise Sequence("there is no open asylum claim to close")


STEPS = [
    Step("asylum-claim", AsylumClaimRecorded, Owner.REFERRING, AsylumClaim,
         check_no_open_claim, shared=False, then=tell_partner_of_hold),
    Step("asylum-claim-closure", AsylumClaimClosed, Owner.REFERRING, AsylumClaimClosure,
         check_open_claim, shared=False, then=tell_partner_of_hold),
]
