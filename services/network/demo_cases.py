"""Demo cases as data: every step of a repatriation, by the side that owns it.

Seeds `homeward run --demo-cases`. The tests walk the same repatriation (the contract
tests with two Case aggregates in memory, the exchange tests over Kafka, the HTTP
tests); their other walks and builders are in tests/harness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from events.values import Side

REFERRING, RECEIVING = "XA-NRM", "XB-NRM"
ALL_SCOPES = ["refer", "share_identity", "share_health", "return", "monitoring"]
PERSON = {
    "given_names": "Amina Grace",
    "family_name": "Okafor",
    "date_of_birth": "1994-02-11",
    "sex": "female",
    "nationality": "NG",
    "languages": ["en", "yo"],
}
CHILD = {**PERSON, "given_names": "Amina", "date_of_birth": "2016-07-14"}  # a minor until 2034
GUARDIAN = {"name": "Ioana Marin", "authority": "XA family court"}
FOR_CHILDREN = {"guardian", "best-interests-determination", "family-tracing",
                "caregiver-confirmation"}


@dataclass(frozen=True)
class Move:
    side: Side
    path: str
    body: dict[str, Any]
    supervisor: bool = False


@dataclass
class Walk:
    """A case's opening body and its steps in order."""

    opening: dict[str, Any]
    moves: list[Move] = field(default_factory=list)


def opening(receiving: str = RECEIVING, minor: bool = True) -> dict[str, Any]:
    return {
        "kind": "repatriation",
        "receiving_agency": receiving,
        "person": CHILD if minor else PERSON,
        "minor": minor,
        "identification": "formal",
        "reason": "Identified at a labour inspection; wishes to return home.",
        "urgency": "routine",
    }


def _at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=None).isoformat() + "+00:00"


def repatriation(
    today: date, scopes: list[str] | None = None, receiving: str = RECEIVING,
    minor: bool = False,
) -> Walk:
    """A whole return, with a cancelled transport, an incident in transit, a closure and a
    reopening. A child's (`minor`) adds the guardian, who consents once the child was heard,
    the best-interests determination and the caregiver. The journey was yesterday: what a
    step says happened is never in the future of the clock that records it."""
    R, C = Side.REFERRING, Side.RECEIVING
    leave, until = today - timedelta(days=1), (today + timedelta(days=200)).isoformat()
    transport = {"mode": "air", "route": "XA-City to XB-City", "departure_at": _at(leave, 9),
                 "arrival_at": _at(leave, 15), "escort": "Agency escort",
                 "medical_escort": True, "fit_to_travel": True}
    contact = {"name": "Desk officer", "email": "desk@xb.example"}
    by_guardian = {"given_by": "guardian", "child_views_heard": True}
    moves = [
        Move(R, "guardian", GUARDIAN),
        Move(R, "consent", {"scopes": scopes or ALL_SCOPES, "language": "en",
                            "interpreter": True,
                            **(by_guardian if minor else {"given_by": "person"})}),
        Move(R, "referral", {"note": "Wishes to return before the school year."}),
        Move(C, "acknowledgement", {"contact": contact, "deputy": contact}),
        Move(R, "identity-verification-request", {"note": "Born in the capital district."}),
        Move(C, "identity-verification", {"result": "confirmed", "nationality": "NG"}),
        Move(C, "acceptance", {"note": "Accepted."}),
        Move(R, "risk-assessment", {"level": "high", "factors": ["debt bondage"],
                                    "safety_plan": "Escorted travel.", "valid_until": until}),
        Move(C, "risk-assessment", {"level": "low", "factors": [], "valid_until": until}),
        Move(R, "return-decision", {"voluntary": True, "informed": True,
                                    "options_explained": ["stay", "residence_permit"],
                                    "language": "en", "interpreter": False}),
        Move(R, "best-interests-determination", {"in_favour_of_return": True,
                                                 "determined_by": "Guardian panel"}),
        Move(C, "family-tracing", {"result": "found_suitable", "completed_on": today.isoformat()}),
        Move(C, "caregiver-confirmation", {"caregiver": {"name": "Grace Okafor",
                                                         "relationship": "aunt"}}),
        Move(C, "travel-document", {"type": "emergency_travel_document", "number": "ETD-4411",
                                    "valid_until": until}),
        Move(C, "reception", {"arrival_point": "XB airport", "type": "family",
                              "met_by": "Grace Okafor", "from_date": leave.isoformat()}),
        Move(R, "transport", transport),
        Move(R, "transport-cancellation", {"reason": "Flight cancelled."}),
        Move(R, "transport", transport),
        Move(R, "departure", {"departed_at": _at(leave, 9)}),
        Move(R, "transit-incident", {"kind": "medical", "occurred_at": _at(leave, 11),
                                     "details": "Felt faint at the transfer; seen by medics."}),
        Move(C, "arrival", {"arrived_at": _at(leave, 15), "received_by": "Reception officer"}),
        Move(C, "shelter-admission", {"shelter": "Shelter 7", "admitted_on": leave.isoformat()}),
        Move(C, "shelter-exit", {"shelter": "Shelter 7", "left_on": leave.isoformat()}),
        Move(C, "reintegration-plan", {"services": ["education", "psychosocial"]}),
        Move(C, "service", {"service": "education", "delivered_on": leave.isoformat(),
                            "provider": "School 12"}),
        # Recorded at opening or later: here once the person told her story at home.
        Move(R, "trafficking-profile", {"forms": ["labour", "domestic_servitude"],
                                        "country_of_exploitation": "XA"}),
        Move(C, "follow-up", {"month": 3, "wellbeing": "good", "retrafficking_risk": False}),
        Move(R, "consent-withdrawal", {"scopes": ["monitoring"], "reason": "No longer wished."}),
        Move(C, "closure", {"reason": "completed"}),
        Move(C, "reopening", {"reason": "New risk reported."}),
    ]
    if "share_identity" not in (scopes or ALL_SCOPES):  # verifying identity would share it
        moves = [m for m in moves if not m.path.startswith("identity-verification")]
    if not minor:
        moves = [m for m in moves if m.path not in FOR_CHILDREN]
    return Walk(opening(receiving, minor), moves)
