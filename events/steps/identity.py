"""Step 7: the referring agency asks the country of origin to verify identity. A person
whose identity the country of return did not confirm is not returned: the last
verification `not_confirmed` holds the case, and transport and departure are refused
`identity-confirmed` until a later verification confirms it (events.readiness)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from events.case import Case, CaseEvent
from events.rules import DataMinimisation, Sequence
from events.step import Body, Owner, Step
from events.steps.referral import Note, check_asylum_guard, check_referred
from events.values import Actor, Scope


class Verification(Body):
    result: Literal["confirmed", "not_confirmed"]
    nationality: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class IdentityVerificationRequested(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.identity_requested_at = self.timestamp


class IdentityVerified(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.identity_verified_at = self.timestamp
        case.state.identity_result = self.data["result"]


def check_request(case: Case, body: Note, actor: Actor, at: datetime) -> None:
    check_asylum_guard(case)
    check_referred(case)
    if not case.consented(Scope.SHARE_IDENTITY):
        raise DataMinimisation("verifying identity shares it: consent `share_identity` needed")


def check_requested(case: Case, body: Verification, actor: Actor, at: datetime) -> None:
    if case.state.identity_requested_at is None:
        raise Sequence("no identity verification was requested")


STEPS = [
    Step("identity-verification-request", IdentityVerificationRequested, Owner.REFERRING, Note,
         check_request, protected={Scope.SHARE_IDENTITY: ("note",)}),
    Step("identity-verification", IdentityVerified, Owner.RECEIVING, Verification,
         check_requested),
]
