"""What a return still needs before transport can be planned, and who owes it.

One list serves both the transport guard (which refuses with the first item's rule)
and the status board (which shows every item).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from events.values import RiskLevel, Scope, Side

if TYPE_CHECKING:
    from events.case import Case


@dataclass(frozen=True)
class Blocker:
    rule: str
    owed_by: Side
    detail: str


def acceptance_blockers(case: Case) -> list[Blocker]:
    if case.state.accepted_at is None:
        return [Blocker("acceptance-required", Side.RECEIVING, "acceptance of the referral")]
    return []


def return_blockers(case: Case, now: datetime, arrival: date | None = None) -> list[Blocker]:
    """Every unmet precondition of planning transport (arrival: the planned date, if known)."""
    s, items = case.state, acceptance_blockers(case)
    if not case.consented(Scope.RETURN) or not s.return_decision_ok:
        items.append(Blocker("return-consent-required", Side.REFERRING,
                             "consent to return and a voluntary, informed return decision"))
    for side in (Side.REFERRING, Side.RECEIVING):
        items.extend(_risk_blockers(case, side, now))
    if s.minor:
        if s.best_interests_in_favour is not True:
            items.append(Blocker("minor-safeguards", Side.REFERRING,
                                 "a best-interests determination in favour of return"))
        if not s.caregiver_confirmed:
            items.append(Blocker("minor-safeguards", Side.RECEIVING, "a confirmed caregiver"))
    if s.proceedings_open and not s.proceedings_cleared:
        items.append(Blocker("proceedings-clearance", Side.REFERRING,
                             "clearance or remote testimony for the open proceedings"))
    items.extend(_document_blockers(case, now, arrival))
    return items


def _risk_blockers(case: Case, side: Side, now: datetime) -> list[Blocker]:
    a = case.state.risk.get(side)
    if a is None:
        return [Blocker("risk-assessment-required", side, f"the {side.value} risk assessment")]
    if a.valid_until < now.date():
        days = (now.date() - a.valid_until).days
        return [Blocker("risk-assessment-required", side,
                        f"the {side.value} risk assessment, expired {days} "
                        f"day{'' if days == 1 else 's'} ago")]
    if a.level is RiskLevel.CRITICAL:
        return [Blocker("risk-assessment-required", side,
                        f"the {side.value} risk is critical: no return while it is")]
    if a.level is RiskLevel.HIGH and not a.safety_plan:
        return [Blocker("risk-assessment-required", side,
                        f"a safety plan for the {side.value} high risk")]
    return []


def _document_blockers(case: Case, now: datetime, arrival: date | None) -> list[Blocker]:
    s, items = case.state, []
    through = arrival or now.date()
    if s.travel_document_until is None:
        items.append(Blocker("travel-document-valid", Side.RECEIVING, "a travel document"))
    elif s.travel_document_until < through:
        items.append(Blocker("travel-document-valid", Side.RECEIVING,
                             f"a travel document valid through {through} "
                             f"(the current one ends {s.travel_document_until})"))
    if s.reception_from is None:
        items.append(Blocker("reception-required", Side.RECEIVING, "reception arrangements"))
    elif arrival is not None and s.reception_from > arrival:
        items.append(Blocker("reception-required", Side.RECEIVING,
                             f"reception from {arrival} (arranged from {s.reception_from})"))
    return items
