"""What a case asks of an agency next, and the phase each step belongs to: the case page
leads with the forms its blocking items ask of the caller's agency, and groups the rest
by phase."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from events.case import Case
from events.progress import blocking, status
from events.values import Side

# Each step of the process in the phase a caseworker looks for it under, in order.
PHASES: dict[str, tuple[str, ...]] = {
    "opening": ("consent", "consent-withdrawal", "age-assessment", "guardian",
                "capacity-assessment", "asylum-claim", "asylum-claim-closure",
                "stay-decision", "residence-permit", "trafficking-profile"),
    "referral": ("referral", "risk-to-life-override", "acknowledgement", "acceptance",
                 "decline", "identity-verification-request", "identity-verification"),
    "preparation": ("risk-assessment", "return-decision", "best-interests-determination",
                    "family-tracing", "caregiver-confirmation", "travel-document", "reception",
                    "protection-incident", "protection-measure"),
    "journey": ("transport", "transport-cancellation", "departure", "transit-incident",
                "arrival"),
    "home": ("shelter-admission", "shelter-exit", "reintegration-plan", "service",
             "follow-up"),
    "justice": ("legal-proceeding", "proceeding-update", "proceeding-closure",
                "proceedings-clearance", "legal-assistance", "compensation-claim",
                "compensation-decision", "penalty-matter", "justice-request",
                "justice-response"),
    "closure": ("closure", "reopening", "erasure"),
    "notes": ("notes",),
}
PHASE_OF: dict[str, str] = {path: phase for phase, paths in PHASES.items() for path in paths}

# The steps that answer a blocking item, by its rule code.
ANSWERS: dict[str, tuple[str, ...]] = {
    "acceptance-required": ("acceptance",),
    "asylum-guard": ("asylum-claim-closure",),
    "closure-justified": ("reintegration-plan",),
    "consent-required": ("consent",),
    "consent-withdrawal-halts": ("consent",),
    "fit-to-travel": ("transport",),
    "identity-confirmed": ("identity-verification",),
    "justice-request": ("justice-response",),
    "minor-safeguards": ("guardian", "best-interests-determination", "family-tracing",
                         "caregiver-confirmation"),
    "proceedings-clearance": ("proceedings-clearance",),
    "protection-incident": ("risk-assessment",),
    "reception-required": ("reception",),
    "retrafficking-risk": ("risk-assessment",),
    "return-consent-required": ("consent", "return-decision"),
    "risk-assessment-required": ("risk-assessment",),
    "transit-incident": ("arrival", "transport-cancellation"),
    "travel-document-valid": ("travel-document",),
}
# `sequence`: the next step in order, by the case's status.
IN_ORDER: dict[str, tuple[str, ...]] = {
    "opened": ("consent", "referral"),
    "referred": ("acknowledgement",),
    "acknowledged": ("acceptance",),
    "accepted": ("reintegration-plan", "risk-assessment", "return-decision"),
    "ready": ("transport",),
    "scheduled": ("departure",),
    "in_transit": ("arrival",),
    "arrived": ("shelter-admission", "reintegration-plan"),
    "reintegrating": ("service", "follow-up"),
    "follow_up": ("follow-up", "closure"),
}


def next_steps(case: Case, side: Side, open_paths: Iterable[str], now: datetime) -> list[str]:
    """The steps open to the agency (`open_paths`) that the case's blocking items owed by
    it ask for, in the order of the items."""
    allowed, out = set(open_paths), []
    current = status(case, now).value
    for item in blocking(case, now):
        if item.owed_by is not side:
            continue
        wanted = IN_ORDER.get(current, ()) if item.rule == "sequence" else ANSWERS.get(
            item.rule, ())
        out += [path for path in wanted if path in allowed and path not in out]
    return out
