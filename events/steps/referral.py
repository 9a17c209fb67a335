"""Steps 4-6: the referral, its acknowledgement, acceptance or decline, and the
supervisor's risk-to-life override of the consent rule."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from events.case import Case, CaseEvent
from events.rules import AsylumGuard, ConsentRequired, Sequence
from events.step import Body, Owner, Step
from events.values import Actor, Scope


class Note(Body):
    note: str | None = Field(default=None, max_length=4000)


class Contact(Body):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)


class Acknowledgement(Body):
    contact: Contact
    deputy: Contact


class Reason(Body):
    reason: str = Field(min_length=1, max_length=4000)


class Justification(Body):
    justification: str = Field(min_length=10, max_length=4000)


class ReferralSent(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.referred_at = self.timestamp
        if isinstance(self.data.get("person"), dict):  # the identity it was allowed to share
            case.state.person = self.data["person"]  # (a string once erased)


class RiskToLifeOverrideRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.override = True


class ReferralAcknowledged(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.acknowledged_at = self.timestamp


class ReferralAccepted(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.accepted_at = self.timestamp


class ReferralDeclined(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.declined_at = self.timestamp


def check_asylum_guard(case: Case) -> None:
    if case.state.asylum_open:
        raise AsylumGuard("an asylum claim is open: nothing goes to the country of origin")


def check_referral(case: Case, body: Note, actor: Actor, at: datetime) -> None:
    if case.state.referred_at is not None:
        raise Sequence("the referral was already sent")
    check_asylum_guard(case)
    if not case.consented(Scope.REFER) and not case.state.override:
        raise ConsentRequired("no active consent scope `refer` and no risk-to-life override")


def check_override(case: Case, body: Justification, actor: Actor, at: datetime) -> None:
    if not actor.is_supervisor:
        raise ConsentRequired("only a supervisor records a risk-to-life override")
    if case.state.referred_at is not None:
        raise Sequence("the referral was already sent")


def check_referred(case: Case) -> None:
    if case.state.referred_at is None:
        raise Sequence("no referral has been received")


def check_acknowledgeable(case: Case, body: Acknowledgement, actor: Actor, at: datetime) -> None:
    check_referred(case)
    if case.state.acknowledged_at is not None:
        raise Sequence("the referral was already acknowledged")


def check_undecided(case: Case, body: Note | Reason, actor: Actor, at: datetime) -> None:
    check_referred(case)
    if case.state.accepted_at is not None or case.state.declined_at is not None:
        raise Sequence("the referral was already decided")


STEPS = [
    Step("referral", ReferralSent, Owner.REFERRING, Note, check_referral,
         protected={Scope.SHARE_IDENTITY: ("person", "note")}),
    Step("risk-to-life-override", RiskToLifeOverrideRecorded, Owner.REFERRING, Justification,
         check_override, supervisor_only=True, local_only=("justification",)),
    Step("acknowledgement", ReferralAcknowledged, Owner.RECEIVING, Acknowledgement,
         check_acknowledgeable),
    Step("acceptance", ReferralAccepted, Owner.RECEIVING, Note, check_undecided,
         protected={Scope.SHARE_IDENTITY: ("note",)}),
    Step("decline", ReferralDeclined, Owner.RECEIVING, Reason, check_undecided,
         protected={Scope.SHARE_IDENTITY: ("reason",)}),
]
