"""Step 11 and the person's access to justice: legal proceedings (linked, updated,
closed, cleared for a return), legal assistance, and compensation.

None of it leaves the referring agency: proceedings in the destination country are its
matter (docs/cross-border.md). A proceeding's news starts a clock: the person must be
told of it within 14 days (events/deadlines.py).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from eventsourcing.utils import register_topic
from pydantic import Field

from events.case import Case, CaseEvent, Proceeding
from events.rules import Sequence
from events.step import Body, Owner, Step
from events.steps.hold import tell_partner_of_hold
from events.steps.return_ import check_accepted
from events.values import Actor

Reference = Field(min_length=1, max_length=200)


class LegalProceeding(Body):
    reference: str = Reference
    role: Literal["witness", "party"]


class Clearance(Body):
    kind: Literal["clearance", "remote_testimony"]


class ProceedingUpdate(Body):
    reference: str = Reference
    stage: Literal["investigation", "charges", "trial", "appeal", "other"]
    next_hearing_on: date | None = None
    person_informed: bool


class ProceedingClosure(Body):
    reference: str = Reference
    outcome: Literal["conviction", "acquittal", "dismissed", "discontinued", "other"]
    person_informed: bool


class LegalAssistance(Body):
    provider: str = Field(min_length=1, max_length=200)
    from_date: date


class Money(Body):
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class CompensationClaim(Money):
    filed_on: date


class CompensationDecision(Money):
    decided_on: date
    awarded: bool


class LegalProceedingLinked(CaseEvent):
    def change(self, case: Case) -> None:
        s = case.state
        s.proceedings[self.data["reference"]] = Proceeding(role=self.data["role"])
        s.proceedings_open = True
        s.proceedings_cleared = False


class ProceedingsClearanceGiven(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.proceedings_cleared = True
        case.state.return_steps += 1


class ProceedingUpdated(CaseEvent):
    def change(self, case: Case) -> None:
        p = case.state.proceedings[self.data["reference"]]
        p.stage = self.data["stage"]
        hearing = self.data.get("next_hearing_on")
        p.next_hearing_on = date.fromisoformat(hearing) if hearing else None
        informed(p, self)


class ProceedingClosed(CaseEvent):
    def change(self, case: Case) -> None:
        s = case.state
        p = s.proceedings[self.data["reference"]]
        p.open, p.stage, p.next_hearing_on = False, self.data["outcome"], None
        informed(p, self)
        s.proceedings_open = any(q.open for q in s.proceedings.values())


# Streams stored before these steps moved here name them by their old module.
register_topic("events.steps.return_:LegalProceedingLinked", LegalProceedingLinked)
register_topic("events.steps.return_:ProceedingsClearanceGiven", ProceedingsClearanceGiven)


def informed(p: Proceeding, event: CaseEvent) -> None:
    """The 14-day clock runs from the first news the person has not been told of."""
    if event.data["person_informed"]:
        p.uninformed_since = p.untold_from = p.told_from_home_on = None
    elif p.uninformed_since is None:
        p.uninformed_since, p.untold_from, p.told_from_home_on = event.timestamp, None, None


class LegalAssistanceArranged(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.legal_assistance_from = date.fromisoformat(self.data["from_date"])


class CompensationClaimed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.compensation = "claimed"


class CompensationDecided(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.compensation = "awarded" if self.data["awarded"] else "refused"


def check_new_proceeding(case: Case, body: LegalProceeding, actor: Actor, at: datetime) -> None:
    known = case.state.proceedings.get(body.reference)
    if known is not None and known.open:
        raise Sequence(f"proceeding {body.reference} is already linked")


def check_open_proceeding(
    case: Case, body: ProceedingUpdate | ProceedingClosure, actor: Actor, at: datetime
) -> None:
    known = case.state.proceedings.get(body.reference)
    if known is None or not known.open:
        raise Sequence(f"no open proceeding {body.reference} is linked to this case")


def check_linked(case: Case, body: Clearance, actor: Actor, at: datetime) -> None:
    check_accepted(case, body, actor, at)
    if not case.state.proceedings_open:
        raise Sequence("no legal proceeding is linked to this case")


def check_no_pending_claim(case: Case, body: CompensationClaim, actor: Actor,
                           at: datetime) -> None:
    if case.state.compensation == "claimed":
        raise Sequence("a compensation claim is already pending")


def check_pending_claim(case: Case, body: CompensationDecision, actor: Actor,
                        at: datetime) -> None:
    if case.state.compensation != "claimed":
        raise Sequence("there is no pending compensation claim to decide")


STEPS = [
    # A person may be a witness before any referral is accepted, and in a referral case.
    # Proceedings hold a return until cleared: the partner learns of the hold, not why.
    Step("legal-proceeding", LegalProceedingLinked, Owner.REFERRING, LegalProceeding,
         check_new_proceeding, shared=False, then=tell_partner_of_hold),
    Step("proceeding-update", ProceedingUpdated, Owner.REFERRING, ProceedingUpdate,
         check_open_proceeding, shared=False),
    Step("proceeding-closure", ProceedingClosed, Owner.REFERRING, ProceedingClosure,
         check_open_proceeding, shared=False, then=tell_partner_of_hold),
    Step("proceedings-clearance", ProceedingsClearanceGiven, Owner.REFERRING, Clearance,
         check_linked, repatriation_only=True, shared=False, then=tell_partner_of_hold),
    Step("legal-assistance", LegalAssistanceArranged, Owner.REFERRING, LegalAssistance,
         shared=False),
    Step("compensation-claim", CompensationClaimed, Owner.REFERRING, CompensationClaim,
         check_no_pending_claim, shared=False),
    Step("compensation-decision", CompensationDecided, Owner.REFERRING, CompensationDecision,
         check_pending_claim, shared=False),
]
