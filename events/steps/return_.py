"""Steps 9-11: the return decision, the safeguards for minors, and legal proceedings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from events.case import Case, CaseEvent
from events.readiness import acceptance_blockers
from events.rules import AcceptanceRequired, MinorSafeguards, Sequence
from events.step import Body, Owner, Step
from events.steps.asylum import check_return_not_barred
from events.steps.hold import tell_partner_of_hold
from events.values import Actor, Scope


class ReturnDecision(Body):
    voluntary: bool
    informed: bool
    options_explained: list[Literal["stay", "residence_permit", "third_country"]]


class BestInterests(Body):
    in_favour_of_return: bool
    determined_by: str = Field(min_length=1, max_length=200)


class Caregiver(Body):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=100)


class CaregiverConfirmation(Body):
    caregiver: Caregiver


class LegalProceeding(Body):
    reference: str = Field(min_length=1, max_length=200)
    role: Literal["witness", "party"]


class Clearance(Body):
    kind: Literal["clearance", "remote_testimony"]


class ReturnDecisionRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.return_decision_ok = bool(self.data["voluntary"] and self.data["informed"])
        case.state.return_steps += 1


class BestInterestsDetermined(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.best_interests_in_favour = bool(self.data["in_favour_of_return"])
        case.state.return_steps += 1


class CaregiverConfirmed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.caregiver_confirmed = True
        case.state.return_steps += 1


class LegalProceedingLinked(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.proceedings_open = True
        case.state.proceedings_cleared = False


class ProceedingsClearanceGiven(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.proceedings_cleared = True
        case.state.return_steps += 1


def check_accepted(case: Case, body: Body, actor: Actor, at: datetime) -> None:
    """acceptance-required: no return step before the receiving agency accepted."""
    for blocker in acceptance_blockers(case):
        raise AcceptanceRequired(f"waiting on {case.agency(blocker.owed_by)}: {blocker.detail}")


def check_decision(case: Case, body: ReturnDecision, actor: Actor, at: datetime) -> None:
    check_accepted(case, body, actor, at)
    check_return_not_barred(case)


def check_minor(case: Case, body: Body, actor: Actor, at: datetime) -> None:
    check_accepted(case, body, actor, at)
    if not case.state.minor:
        raise MinorSafeguards("best-interests and caregiver steps are for minors")


def check_linked(case: Case, body: Clearance, actor: Actor, at: datetime) -> None:
    check_accepted(case, body, actor, at)
    if not case.state.proceedings_open:
        raise Sequence("no legal proceeding is linked to this case")


STEPS = [
    Step("return-decision", ReturnDecisionRecorded, Owner.REFERRING, ReturnDecision,
         check_decision, repatriation_only=True),
    Step("best-interests-determination", BestInterestsDetermined, Owner.REFERRING, BestInterests,
         check_minor, repatriation_only=True),
    Step("caregiver-confirmation", CaregiverConfirmed, Owner.RECEIVING, CaregiverConfirmation,
         check_minor, repatriation_only=True, protected={Scope.SHARE_IDENTITY: ("caregiver",)}),
    # A person may be a witness before any referral is accepted: linking is no return step.
    Step("legal-proceeding", LegalProceedingLinked, Owner.REFERRING, LegalProceeding,
         repatriation_only=True, shared=False, then=tell_partner_of_hold),
    Step("proceedings-clearance", ProceedingsClearanceGiven, Owner.REFERRING, Clearance,
         check_linked, repatriation_only=True, shared=False, then=tell_partner_of_hold),
]
