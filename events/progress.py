"""A case's status and its blocking items ("waiting on whom, for what"), derived
from its state at a given moment.

A case is `on_hold` after consent to return was withdrawn, while an incident in transit
is unresolved, while the country of return has not confirmed the person's identity, and
while its planned return fails the standing gate
(`events.readiness.gate`): both agencies derive it from their own stream."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from events.case import Case
from events.readiness import (
    Blocker,
    acceptance_blockers,
    gate,
    identity_holds,
    return_blockers,
)
from events.steps.penalty import open_matters
from events.values import ClosureReason, Kind, Scope, Side, Status


def status(case: Case, now: datetime) -> Status:
    s = case.state
    if s.closed:
        return Status.CLOSED
    if s.declined_at is not None:
        return Status.DECLINED
    if s.on_hold or (s.incident is not None and s.arrived_at is None) or identity_holds(case):
        return Status.ON_HOLD
    if s.arrived_at is not None or (s.kind is Kind.REFERRAL and s.accepted_at is not None):
        if s.follow_up_months:
            return Status.FOLLOW_UP
        if s.plan_services is not None:
            return Status.REINTEGRATING
        return Status.ARRIVED if s.kind is Kind.REPATRIATION else Status.ACCEPTED
    if s.departed_at is not None:
        return Status.IN_TRANSIT
    if s.transport is not None:
        return Status.ON_HOLD if gate(case, now) else Status.SCHEDULED
    if s.accepted_at is not None:
        if not return_blockers(case, now):
            return Status.READY
        return Status.PREPARING if s.return_steps else Status.ACCEPTED
    if s.acknowledged_at is not None:
        return Status.ACKNOWLEDGED
    if s.referred_at is not None:
        return Status.REFERRED
    return Status.OPENED


def blocking(case: Case, now: datetime) -> list[Blocker]:
    """Each unmet precondition of the case's next step, with the side that owes it; first
    the escalations, which stand whatever the next step is."""
    if case.state.closed:
        return approvals(case)  # an erasure may be asked for after closure
    items = next_step_blockers(case, now)
    return [*(e for e in escalations(case) if e.rule not in {b.rule for b in items}),
            *justice_from_home(case), *items, *approvals(case)]


def approvals(case: Case) -> list[Blocker]:
    """Steps the agency's users asked a supervisor for, still undecided (four eyes)."""
    return [Blocker("approval-pending", a.side,
                    f"{a.step.replace('-', ' ')} asked by {a.requested_by}, awaiting a "
                    "supervisor's decision")
            for _, a in sorted(case.state.approvals.items(), key=lambda kv: kv[1].requested_at)]


def escalations(case: Case) -> list[Blocker]:
    """What puts the person's safety in question after the hand-off as before it."""
    s, out = case.state, []
    if s.retrafficking_risk:
        out.append(Blocker("retrafficking-risk", Side.RECEIVING,
                           "escalation: a follow-up reported a risk of re-trafficking; "
                           "a new risk assessment with a safety plan"))
    if s.protection_incident is not None and s.protection_incident_owed_by is not None:
        out.append(Blocker("protection-incident", s.protection_incident_owed_by,
                           f"escalation: protection incident "
                           f"({s.protection_incident.replace('_', ' ')}); "
                           "a new risk assessment with a safety plan"))
    return out


def justice_from_home(case: Case) -> list[Blocker]:
    """What the referring agency asked the receiving agency to do for the person's access to
    justice once home, until it answers (events.steps.justice_home)."""
    out = []
    for kind, r in sorted(case.state.justice_requests.items()):
        hearing = f" for the hearing on {r.hearing_on}" if r.hearing_on else ""
        out.append(Blocker("justice-request", Side.RECEIVING,
                           f"justice from home: {kind.replace('_', ' ')}{hearing}, "
                           f"due {r.due_on}"))
    return out


def next_step_blockers(case: Case, now: datetime) -> list[Blocker]:
    current = status(case, now)
    s = case.state
    if current is Status.OPENED:
        items = []
        if s.asylum_open:
            items.append(Blocker("asylum-guard", Side.REFERRING, "the open asylum claim to close"))
        if s.minor and not s.guardian_appointed and not case.consented(Scope.REFER):
            items.append(Blocker("minor-safeguards", Side.REFERRING,
                                 "a guardian, who consents for the child"))
        if not case.consented(Scope.REFER) and not s.override:
            items.append(Blocker("consent-required", Side.REFERRING, "consent to refer"))
        return items or [Blocker("sequence", Side.REFERRING, "the referral")]
    if current is Status.REFERRED:
        return [Blocker("sequence", Side.RECEIVING, "acknowledgement of the referral")]
    if current is Status.ACKNOWLEDGED:
        return acceptance_blockers(case)
    if current in (Status.ACCEPTED, Status.PREPARING) and s.kind is Kind.REPATRIATION:
        return return_blockers(case, now)
    if current is Status.READY:
        return [Blocker("sequence", Side.REFERRING, "the transport plan")]
    if current is Status.SCHEDULED:
        return [Blocker("sequence", Side.REFERRING, "confirmation of departure")]
    if current is Status.IN_TRANSIT:
        return [Blocker("sequence", Side.RECEIVING, "confirmation of arrival")]
    if current in (Status.ARRIVED, Status.ACCEPTED):
        if s.stay_decided_on is not None:
            return []  # the person stays: help at home is given when asked for, nothing is owed
        return [Blocker("sequence", Side.RECEIVING, "the reintegration plan")]
    if current is Status.ON_HOLD:
        return hold_items(case, now)
    return []


def hold_items(case: Case, now: datetime) -> list[Blocker]:
    s = case.state
    if s.on_hold:
        return [Blocker("consent-withdrawal-halts", Side.REFERRING, "renewed consent to return")]
    if s.incident is not None:
        # An escalation: the person's whereabouts or safety in transit are in question.
        return [Blocker("transit-incident", Side.REFERRING,
                        f"escalation: incident in transit ({s.incident.replace('_', ' ')}); "
                        "confirm arrival or cancel the transport")]
    if identity_holds(case) and case.state.transport is None:
        return return_blockers(case, now)
    return gate(case, now)


LegalKind = Literal["proceeding", "legal_assistance", "compensation_claim", "protection_measure",
                    "penalty_matter"]


@dataclass(frozen=True)
class LegalItem:
    """One open legal matter of the person, as values: the pages write it in their language
    (services/api/web/ui/common.js `legalMatter`), `legal_matter` in English. Only the
    values of its kind are set."""

    kind: LegalKind
    reference: str | None = None  # a proceeding's
    role: str | None = None  # in the proceeding: witness, party
    stage: str | None = None  # the proceeding's, once updated
    next_hearing_on: date | None = None
    since: date | None = None  # legal assistance: from that day
    measure: str | None = None  # a protection measure's kind
    valid_until: date | None = None  # the protection measure's last day
    days_left: int | None = None  # to its end, at the time asked; negative once it ended
    matter: str | None = None  # a penalty matter's kind: detention, removal_order, charge, fine
    linked_to_exploitation: bool | None = None  # the penalty matter's


def legal_items(case: Case, now: datetime | None = None) -> list[LegalItem]:
    """The person's open legal matters: proceedings, legal assistance, a compensation claim,
    protection measures (with the days left at `now`) and (at the referring agency) open
    penalty matters."""
    s, out = case.state, []
    for reference, p in sorted(s.proceedings.items()):
        if p.open:
            out.append(LegalItem("proceeding", reference=reference, role=p.role, stage=p.stage,
                                 next_hearing_on=p.next_hearing_on))
    if s.legal_assistance_from is not None:
        out.append(LegalItem("legal_assistance", since=s.legal_assistance_from))
    if s.compensation == "claimed":
        out.append(LegalItem("compensation_claim"))
    for kind, measure in sorted(s.protection_measures.items()):
        days = (measure.valid_until - now.date()).days if now is not None else None
        out.append(LegalItem("protection_measure", measure=kind, valid_until=measure.valid_until,
                             days_left=days))
    out += [LegalItem("penalty_matter", matter=kind, linked_to_exploitation=linked)
            for kind, linked in open_matters(case)]
    return out


def legal_matters(case: Case, now: datetime | None = None) -> list[str]:
    """The person's open legal matters in English (`legal_items`, each by `legal_matter`)."""
    return [legal_matter(item) for item in legal_items(case, now)]


def legal_matter(item: LegalItem) -> str:
    """A legal matter in English: "proceeding CR-1 (witness, trial, next hearing 2027-01-10)",
    "protective order until 2027-01-10, expires in 3 days", "removal order open"."""
    if item.kind == "proceeding":
        return (f"proceeding {item.reference} ({item.role}"
                + (f", {item.stage}" if item.stage else "")
                + (f", next hearing {item.next_hearing_on}" if item.next_hearing_on else "")
                + ")")
    if item.kind == "legal_assistance":
        return f"legal assistance from {item.since}"
    if item.kind == "compensation_claim":
        return "compensation claim pending"
    if item.kind == "protection_measure":
        return (f"{_words(item.measure)} until {item.valid_until}"
                + (_days_left(item.days_left) if item.days_left is not None else ""))
    return (f"{_words(item.matter)} open"
            + (", linked to the exploitation" if item.linked_to_exploitation else ""))


def _words(kind: str | None) -> str:
    return str(kind).replace("_", " ")


def _days_left(days: int) -> str:
    if days < 0:
        return ", ended"
    return f", expires in {days} day{'' if days == 1 else 's'}"


class HtcdsStatus(StrEnum):
    """The case statuses of the Human Trafficking Case Data Standard."""

    ACTIVE = "Active"
    FOLLOW_UP = "FollowUp"
    CLOSED = "Closed"
    CLOSED_REFERRED = "ClosedReferred"


# A case closed because another organisation took it on was referred on, not ended.
REFERRED_ON = {ClosureReason.TRANSFERRED.value, ClosureReason.STAYED_IN_DESTINATION.value}


def htcds_status(case: Case, now: datetime) -> HtcdsStatus:
    """The HTCDS status of the case: follow-ups after the return are FollowUp; a closure
    that handed the person on (transferred, stayed in the destination) is ClosedReferred;
    every other closure Closed; anything still open, held or declined-not-closed Active."""
    current = status(case, now)
    if current is Status.CLOSED:
        return (HtcdsStatus.CLOSED_REFERRED if case.state.closure_reason in REFERRED_ON
                else HtcdsStatus.CLOSED)
    if current is Status.FOLLOW_UP:
        return HtcdsStatus.FOLLOW_UP
    return HtcdsStatus.ACTIVE
