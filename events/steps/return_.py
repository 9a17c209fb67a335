"""Steps 9-10: the return decision, after the reflection period, and the safeguards for
minors. An urgent case's referring agency prepares its side before the partner accepts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from events.case import Case, CaseEvent
from events.readiness import acceptance_blockers
from events.rules import AcceptanceRequired, MinorSafeguards, ReflectionPeriod
from events.step import Body, Owner, Step
from events.steps.asylum import check_return_not_barred
from events.steps.consent import check_language
from events.steps.penalty import check_non_punishment
from events.values import Actor, Scope


class ReturnDecision(Body):
    voluntary: bool
    informed: bool
    # At least one alternative to return was explained, in a language the person speaks
    # or through an interpreter (as for consent).
    options_explained: list[Literal["stay", "residence_permit", "third_country"]] = Field(
        min_length=1)
    language: str = Field(min_length=2, max_length=35)
    interpreter: bool
    early_return_requested: bool | None = None  # the person's own request, within the period
    # A supervisor's, under an open removal order or detention (events.steps.penalty).
    justification: str | None = Field(default=None, min_length=1, max_length=4000)


class BestInterests(Body):
    in_favour_of_return: bool
    determined_by: str = Field(min_length=1, max_length=200)
    # The determination names a caregiver other than the child's family (a foster family,
    # a kinship carer, a care institution): the caregiver may be confirmed without tracing.
    other_caregiver_named: bool | None = None


class FamilyTracing(Body):
    result: Literal["found_suitable", "found_unsuitable", "not_found"]
    completed_on: date
    happened = ("completed_on",)


class Caregiver(Body):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=100)


class CaregiverConfirmation(Body):
    caregiver: Caregiver


class ReturnDecisionRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.return_decision_ok = bool(self.data["voluntary"] and self.data["informed"])
        case.state.early_return_requested = bool(self.data.get("early_return_requested"))
        case.state.return_steps += 1


class BestInterestsDetermined(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.best_interests_in_favour = bool(self.data["in_favour_of_return"])
        case.state.other_caregiver_named = bool(self.data.get("other_caregiver_named"))
        case.state.return_steps += 1


class FamilyTraced(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.family_tracing = self.data["result"]


class CaregiverConfirmed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.caregiver_confirmed = True
        case.state.return_steps += 1


def check_accepted(case: Case, body: Body, actor: Actor, at: datetime) -> None:
    """acceptance-required: no return step before the receiving agency accepted."""
    for blocker in acceptance_blockers(case):
        raise AcceptanceRequired(f"waiting on {case.agency(blocker.owed_by)}: {blocker.detail}")


def check_prepared(case: Case, body: Body, actor: Actor, at: datetime) -> None:
    """acceptance-required, except that in an urgent case the referring agency records its
    own return preparations before the partner accepts, so no day is lost."""
    if not case.state.urgent:
        check_accepted(case, body, actor, at)


def check_return_decision(case: Case, body: ReturnDecision, actor: Actor, at: datetime) -> None:
    check_language(case, body, "a return decision")
    check_prepared(case, body, actor, at)
    check_non_punishment(case, body, actor)
    check_return_not_barred(case)
    ends = case.state.reflection_ends
    if ends is not None and at.date() < ends and not body.early_return_requested:
        raise ReflectionPeriod(f"the reflection and recovery period runs until {ends}; a return "
                               "decision before then needs the person's own request "
                               "(early_return_requested)")


def check_is_minor(case: Case) -> None:
    if not case.state.minor:
        raise MinorSafeguards("best-interests and caregiver steps are for minors")


def check_best_interests(case: Case, body: BestInterests, actor: Actor, at: datetime) -> None:
    check_prepared(case, body, actor, at)
    check_is_minor(case)


def check_minor(case: Case, body: Body, actor: Actor, at: datetime) -> None:
    check_accepted(case, body, actor, at)
    check_is_minor(case)


def check_caregiver(case: Case, body: CaregiverConfirmation, actor: Actor, at: datetime) -> None:
    """A child goes back to a family that tracing found and assessed as suitable, or to a
    caregiver a best-interests determination named: never to one nobody looked into."""
    check_minor(case, body, actor, at)
    s = case.state
    if s.family_tracing != "found_suitable" and not s.other_caregiver_named:
        traced = (f"family tracing found {s.family_tracing.replace('_', ' ')}"
                  if s.family_tracing else "no family tracing is recorded")
        raise MinorSafeguards(f"{traced}: a child's caregiver is confirmed after tracing "
                              "finds a suitable family, or once a best-interests "
                              "determination names another caregiver")


STEPS = [
    Step("return-decision", ReturnDecisionRecorded, Owner.REFERRING, ReturnDecision,
         check_return_decision, repatriation_only=True, supervised=True,
         local_only=("justification",)),
    Step("best-interests-determination", BestInterestsDetermined, Owner.REFERRING, BestInterests,
         check_best_interests, repatriation_only=True),
    # Tracing helps any returnee find their family; for a child it comes before a caregiver.
    Step("family-tracing", FamilyTraced, Owner.RECEIVING, FamilyTracing, check_accepted),
    Step("caregiver-confirmation", CaregiverConfirmed, Owner.RECEIVING, CaregiverConfirmation,
         check_caregiver, repatriation_only=True,
         protected={Scope.SHARE_IDENTITY: ("caregiver",)}),
]
