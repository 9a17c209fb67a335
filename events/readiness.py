"""The return's standing gate: every precondition of the person's return, and who owes it.

One list serves the transport guard and the departure guard (which refuse with the first
unmet precondition's rule), the status (a planned return that no longer meets them is
`on_hold`) and the status board (which shows every unmet one). The gate is evaluated
from the case's state whenever it is asked, so a fact that breaks a precondition after
transport was planned (the agency's own or a received one) holds the case at once.

To add a safeguard, append a `Precondition` to `RETURN_PRECONDITIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from events.values import Kind, RiskLevel, Scope, Side

if TYPE_CHECKING:
    from events.case import Case


@dataclass(frozen=True)
class Blocker:
    rule: str
    owed_by: Side
    detail: str


@dataclass(frozen=True)
class Trip:
    """The travel the gate is asked about: the planned arrival date and fitness, if known."""

    arrival: date | None = None
    fit_to_travel: bool | None = None


# What is missing (one line per unmet item), or nothing when the precondition holds.
Missing = Callable[["Case", datetime, Trip], list[str]]


@dataclass(frozen=True)
class Precondition:
    name: str
    rule: str
    owed_by: Side
    missing: Missing

    def blockers(self, case: Case, now: datetime, trip: Trip) -> list[Blocker]:
        return [Blocker(self.rule, self.owed_by, d) for d in self.missing(case, now, trip)]


def _acceptance(case: Case, now: datetime, trip: Trip) -> list[str]:
    return ["acceptance of the referral"] if case.state.accepted_at is None else []


def _no_asylum(case: Case, now: datetime, trip: Trip) -> list[str]:
    # Only the referring agency's own stream knows of a claim; it never crosses the border.
    if case.state.protection_granted:
        return ["protection was granted: the person is not returned"]
    if case.state.asylum_open:
        return ["the open asylum claim to be decided"]
    return []


def _identity(case: Case, now: datetime, trip: Trip) -> list[str]:
    if case.state.identity_result == "not_confirmed":
        return ["identity and nationality confirmed by the country of return "
                "(the last verification did not confirm them)"]
    return []


def identity_holds(case: Case) -> bool:
    """A repatriation not yet under way whose last identity verification did not confirm
    the person: the case is on hold whether or not transport is planned."""
    s = case.state
    return (s.kind is Kind.REPATRIATION and s.departed_at is None
            and s.identity_result == "not_confirmed")


def _protection_incident(case: Case, now: datetime, trip: Trip) -> list[str]:
    s = case.state
    if s.protection_incident is None or s.protection_incident_owed_by is not Side.REFERRING:
        return []
    return [f"a new risk assessment with a safety plan after the protection incident "
            f"({s.protection_incident.replace('_', ' ')})"]


def _partner_hold(case: Case, now: datetime, trip: Trip) -> list[str]:
    # What the receiving agency sees of the referring agency's private safeguards.
    return ["the referring agency holds the return"] if case.state.partner_held else []


def _return_consent(case: Case, now: datetime, trip: Trip) -> list[str]:
    if case.consented(Scope.RETURN) and case.state.return_decision_ok:
        return []
    return ["consent to return and a voluntary, informed return decision taken after it"]


def _risk(side: Side) -> Missing:
    def missing(case: Case, now: datetime, trip: Trip) -> list[str]:
        a = case.state.risk.get(side)
        if a is None:
            return [f"the {side.value} risk assessment"]
        if a.valid_until < now.date():
            days = (now.date() - a.valid_until).days
            return [f"the {side.value} risk assessment, expired {days} "
                    f"day{'' if days == 1 else 's'} ago"]
        if a.level is RiskLevel.CRITICAL:
            return [f"the {side.value} risk is critical: no return while it is"]
        if a.level is RiskLevel.HIGH and not a.safety_plan_in_place:
            return [f"a safety plan for the {side.value} high risk"]
        return []
    return missing


def _best_interests(case: Case, now: datetime, trip: Trip) -> list[str]:
    if case.state.minor and case.state.best_interests_in_favour is not True:
        return ["a best-interests determination in favour of return"]
    return []


def _reflection(case: Case, now: datetime, trip: Trip) -> list[str]:
    ends = case.state.reflection_ends  # known to the referring agency only
    if ends is None or now.date() >= ends or case.state.early_return_requested:
        return []
    return [f"the end of the reflection period on {ends}, "
            "or the person's own request to return earlier"]


def _guardian(case: Case, now: datetime, trip: Trip) -> list[str]:
    # A disputed age recorded after planning makes the person a minor: the return holds.
    if case.state.minor and not case.state.guardian_appointed:
        return ["a guardian for the child"]
    return []


def _caregiver(case: Case, now: datetime, trip: Trip) -> list[str]:
    if case.state.minor and not case.state.caregiver_confirmed:
        return ["a confirmed caregiver"]
    return []


def _proceedings(case: Case, now: datetime, trip: Trip) -> list[str]:
    if case.state.proceedings_open and not case.state.proceedings_cleared:
        return ["clearance or remote testimony for the open proceedings"]
    return []


def _travel_document(case: Case, now: datetime, trip: Trip) -> list[str]:
    until, through = case.state.travel_document_until, trip.arrival or now.date()
    if until is None:
        return ["a travel document"]
    if until < through:
        return [f"a travel document valid through {through} (the current one ends {until})"]
    return []


def _reception(case: Case, now: datetime, trip: Trip) -> list[str]:
    start = case.state.reception_from
    if start is None:
        return ["reception arrangements"]
    if trip.arrival is not None and start > trip.arrival:
        return [f"reception from {trip.arrival} (arranged from {start})"]
    return []


def _fit_to_travel(case: Case, now: datetime, trip: Trip) -> list[str]:
    return ["a person fit to travel"] if trip.fit_to_travel is False else []


RETURN_PRECONDITIONS: list[Precondition] = [
    Precondition("acceptance", "acceptance-required", Side.RECEIVING, _acceptance),
    Precondition("no asylum claim or protection", "asylum-guard", Side.REFERRING, _no_asylum),
    Precondition("identity confirmed", "identity-confirmed", Side.RECEIVING, _identity),
    Precondition("no unanswered protection incident", "protection-incident", Side.REFERRING,
                 _protection_incident),
    Precondition("return not held by the partner", "return-held", Side.REFERRING,
                 _partner_hold),
    Precondition("return consent and decision", "return-consent-required", Side.REFERRING,
                 _return_consent),
    Precondition("reflection period", "reflection-period", Side.REFERRING, _reflection),
    Precondition("referring risk assessment", "risk-assessment-required", Side.REFERRING,
                 _risk(Side.REFERRING)),
    Precondition("receiving risk assessment", "risk-assessment-required", Side.RECEIVING,
                 _risk(Side.RECEIVING)),
    Precondition("guardian of the minor", "minor-safeguards", Side.REFERRING, _guardian),
    Precondition("best interests of the minor", "minor-safeguards", Side.REFERRING,
                 _best_interests),
    Precondition("minor's caregiver", "minor-safeguards", Side.RECEIVING, _caregiver),
    Precondition("proceedings clearance", "proceedings-clearance", Side.REFERRING, _proceedings),
    Precondition("travel document", "travel-document-valid", Side.RECEIVING, _travel_document),
    Precondition("reception", "reception-required", Side.RECEIVING, _reception),
    Precondition("fit to travel", "fit-to-travel", Side.REFERRING, _fit_to_travel),
]


def acceptance_blockers(case: Case) -> list[Blocker]:
    if case.state.accepted_at is None:
        return [Blocker("acceptance-required", Side.RECEIVING, "acceptance of the referral")]
    return []


def return_blockers(case: Case, now: datetime, trip: Trip | None = None) -> list[Blocker]:
    """Every unmet precondition of the return, for the travel given (none: not yet planned)."""
    trip = trip or Trip()
    return [b for p in RETURN_PRECONDITIONS for b in p.blockers(case, now, trip)]


def planned_trip(case: Case) -> Trip:
    t = case.state.transport
    if t is None:
        return Trip()
    return Trip(arrival=t.arrival_at.date(), fit_to_travel=t.fit_to_travel)


def gate(case: Case, now: datetime) -> list[Blocker]:
    """The standing gate of a planned return: what it no longer meets at `now`."""
    if case.state.transport is None or case.state.departed_at is not None:
        return []
    return return_blockers(case, now, planned_trip(case))


def private_hold(case: Case) -> bool:
    """Whether a safeguard only the referring agency knows of holds the return (asylum,
    proceedings). The partner learns the fact of the hold, never its reason."""
    s = case.state
    return s.asylum_open or s.protection_granted or (s.proceedings_open
                                                      and not s.proceedings_cleared)
