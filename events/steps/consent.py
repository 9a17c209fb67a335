"""Step 2, consent: recorded and withdrawn by the referring agency."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import Field

from events.case import Case, CaseEvent
from events.rules import ConsentRequired, InvalidField, MinorSafeguards
from events.step import Body, Owner, Step
from events.values import AGENCY_CODE, Actor, Kind, Scope


class Consent(Body):
    scopes: list[Scope] = Field(min_length=1)
    language: str = Field(min_length=2, max_length=35)
    interpreter: bool
    given_by: Literal["person", "guardian"]
    child_views_heard: bool | None = None  # a child's consent needs it true
    # With `refer`: the agency the person agrees to be referred to, when it is another
    # than the case's receiving agency (a transfer). It stays with the referring agency.
    refer_to: str | None = Field(default=None, pattern=AGENCY_CODE.pattern)


class ConsentWithdrawal(Body):
    scopes: list[Scope] = Field(min_length=1)
    reason: str | None = Field(default=None, max_length=4000)


class ConsentRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        scopes = {Scope(s) for s in self.data["scopes"]}
        case.state.consent |= scopes
        if Scope.REFER in scopes:
            case.state.refer_to = self.data.get("refer_to")
        if Scope.RETURN in scopes:
            case.state.on_hold = False


class ConsentWithdrawn(CaseEvent):
    """consent-withdrawal-halts: before departure, withdrawing `return` cancels
    planned transport, voids the return decision and holds the case; after departure
    it only stops sharing."""

    def change(self, case: Case) -> None:
        s = case.state
        scopes = {Scope(x) for x in self.data["scopes"]}
        s.consent -= scopes
        if Scope.REFER in scopes:
            s.refer_to = None
        if Scope.RETURN in scopes and s.kind is Kind.REPATRIATION and s.departed_at is None:
            s.transport = None
            s.on_hold = True
            s.return_decision_ok = False  # consent given again needs a new decision

def check_consent(case: Case, body: Consent, actor: Actor, at: datetime) -> None:
    check_language(case, body)
    s = case.state
    if s.minor:
        if body.given_by != "guardian":
            raise MinorSafeguards("a child's consent is given by the guardian")
        if not s.guardian_appointed:
            raise MinorSafeguards("a child's consent needs a guardian recorded first")
        if body.child_views_heard is not True:
            raise MinorSafeguards("a child's consent needs the child's views heard")
    elif body.given_by == "guardian" and not s.incapacity_found:
        raise ConsentRequired("a guardian consents for an adult only after a capacity "
                              "assessment found incapacity")


class Explained(Protocol):
    language: str
    interpreter: bool


def check_language(case: Case, body: Explained, what: str = "consent") -> None:
    """A decision explained in a language the person does not speak needs an interpreter."""
    spoken = {lang.lower() for lang in (case.state.person or {}).get("languages", [])}
    if body.language.lower() not in spoken and not body.interpreter:
        raise InvalidField("interpreter", f"the person does not speak {body.language!r}: "
                                          f"{what} in it needs an interpreter")


STEPS = [
    Step("consent", ConsentRecorded, Owner.REFERRING, Consent, check_consent,
         local_only=("refer_to",)),
    # Why a person withdrew (e.g. to seek a residence permit) is not the country of origin's
    # business: the reason stays with the agency that heard it.
    Step("consent-withdrawal", ConsentWithdrawn, Owner.REFERRING, ConsentWithdrawal,
         local_only=("reason",)),
]
