"""Walks through whole cases for the tests, beside the demo's repatriation
(services/network/demo_cases.py): who acts for a move, a declined referral, a person who
stays, and the steps that never leave the referring agency."""

from __future__ import annotations

from datetime import date, timedelta

from events.values import Actor, Role, Side
from services.network.demo_cases import (
    ALL_SCOPES,
    GUARDIAN,
    RECEIVING,
    REFERRING,
    Move,
    Walk,
    opening,
    repatriation,
)


def actor(move: Move, referring: str = REFERRING, receiving: str = RECEIVING) -> Actor:
    """A caseworker (and supervisor, where the move needs one) of the side that owns it."""
    agency = referring if move.side is Side.REFERRING else receiving
    roles = {Role.CASEWORKER, Role.SUPERVISOR} if move.supervisor else {Role.CASEWORKER}
    return Actor(agency=agency, sub=f"{agency.lower()}-worker", roles=frozenset(roles))


def declined_after_override(receiving: str = RECEIVING) -> Walk:
    """No consent at all: a supervisor's risk-to-life override, a referral, a decline."""
    R, C = Side.REFERRING, Side.RECEIVING
    return Walk(opening(receiving, minor=False), [
        Move(R, "risk-to-life-override", {"justification": "Imminent threat to life."},
             supervisor=True),
        Move(R, "referral", {}),
        Move(C, "acknowledgement", {"contact": {"name": "Desk", "email": "d@xb.example"},
                                    "deputy": {"name": "Deputy", "email": "e@xb.example"}}),
        Move(C, "decline", {"reason": "No capacity."}),
    ])


def declined_under_consent(scopes: list[str], receiving: str = RECEIVING) -> Walk:
    """Consent to `scopes`, a referral, a decline with its reason."""
    R, C = Side.REFERRING, Side.RECEIVING
    return Walk(opening(receiving, minor=False), [
        Move(R, "consent", {"scopes": scopes, "language": "en", "interpreter": False,
                            "given_by": "person"}),
        Move(R, "referral", {"note": "Referred by the shelter."}),
        Move(C, "acknowledgement", {"contact": {"name": "Desk", "email": "d@xb.example"},
                                    "deputy": {"name": "Deputy", "email": "e@xb.example"}}),
        Move(C, "decline", {"reason": "Mother named the recruiter; no safe placement."}),
    ])


def held_after_transport(today: date, receiving: str = RECEIVING) -> Walk:
    """An asylum claim lodged after transport was planned, then withdrawn: the partner
    learns only that the return was held and released."""
    walk = repatriation(today, receiving=receiving)
    R = Side.REFERRING
    moves = walk.moves[:[m.path for m in walk.moves].index("transport-cancellation")]
    return Walk(walk.opening, [*moves, Move(R, "asylum-claim", {"lodged_on": today.isoformat()}),
                               Move(R, "asylum-claim-closure", {"outcome": "withdrawn"})])


def erased_after_decline(receiving: str = RECEIVING) -> Walk:
    """A declined referral whose personal data the referring supervisor then erases."""
    walk = declined_after_override(receiving)
    return Walk(walk.opening, [*walk.moves, Move(Side.REFERRING, "erasure",
                                                 {"reason": "subject-request"}, supervisor=True)])


# The steps that never leave the referring agency, placed where a caseworker records them.
PRIVATE_BEFORE = {
    "referral": [Move(Side.REFERRING, "asylum-claim", {"lodged_on": "2025-02-20"}),
                 Move(Side.REFERRING, "asylum-claim-closure", {"outcome": "withdrawn"}),
                 Move(Side.REFERRING, "legal-proceeding",
                      {"reference": "CR-2025-118", "role": "witness"})],
    "transport": [Move(Side.REFERRING, "proceedings-clearance", {"kind": "remote_testimony"})],
}


def stayed(today: date, receiving: str = RECEIVING) -> Walk:
    """A young person whose age is disputed (so treated as a child) chooses to stay; the
    case goes on as a referral, and the partner goes on helping. (Only shared steps: the
    residence permit and the stay's basis never leave the referring agency.)"""
    R, C = Side.REFERRING, Side.RECEIVING
    contact = {"name": "Desk officer", "email": "desk@xb.example"}
    start = {**opening(receiving, minor=False), "reflection_period_start": today.isoformat()}
    return Walk(start, [
        Move(R, "age-assessment", {"assessed_on": today.isoformat(), "outcome": "disputed"}),
        Move(R, "guardian", GUARDIAN),
        Move(R, "consent", {"scopes": ALL_SCOPES, "language": "yo", "interpreter": True,
                            "given_by": "guardian", "child_views_heard": True}),
        Move(R, "referral", {"note": "Family tracing and documents."}),
        Move(C, "acknowledgement", {"contact": contact, "deputy": contact}),
        Move(C, "acceptance", {"note": "Accepted."}),
        Move(R, "stay-decision", {"decided_on": today.isoformat(), "basis": "asylum"}),
        Move(C, "reintegration-plan", {"services": ["family", "vocational"]}),
        Move(C, "service", {"service": "vocational", "delivered_on": today.isoformat(),
                            "provider": "NGO at home"}),
    ])


def at_risk_at_month_3(today: date, receiving: str = RECEIVING) -> Walk:
    """A person home and helped, whom the month-3 follow-up finds at risk of being
    trafficked again (up to that follow-up; the new assessment and the closure follow)."""
    walk = repatriation(today, receiving=receiving)
    paths = [m.path for m in walk.moves]
    moves = walk.moves[:paths.index("follow-up")]
    at_risk = {"month": 3, "wellbeing": "poor", "retrafficking_risk": True}
    return Walk(walk.opening, [*moves, Move(Side.RECEIVING, "follow-up", at_risk)])


def reassessed(today: date) -> Move:
    """The receiving agency's new assessment, with a safety plan, after a reported risk."""
    return Move(Side.RECEIVING, "risk-assessment", {
        "level": "high", "factors": ["recruiter seen in the village"],
        "safety_plan": "Moved to the regional shelter; weekly visits.",
        "valid_until": (today + timedelta(days=90)).isoformat()})


def identity_not_confirmed(today: date, receiving: str = RECEIVING) -> Walk:
    """A return prepared up to its transport, whose identity verification came back
    `not_confirmed` (the transport and a later, confirming verification follow)."""
    walk = repatriation(today, receiving=receiving)
    moves = walk.moves[:[m.path for m in walk.moves].index("transport")]
    return Walk(walk.opening, [
        Move(m.side, m.path, {"result": "not_confirmed"}) if m.path == "identity-verification"
        else m for m in moves])


def identity_confirmed_again() -> list[Move]:
    return [Move(Side.REFERRING, "identity-verification-request",
                 {"note": "Birth record from the district registry attached."}),
            Move(Side.RECEIVING, "identity-verification",
                 {"result": "confirmed", "nationality": "NG"})]


def next_move(today: date, path: str) -> Move:
    """The demo repatriation's first move of `path` (its body on `today`'s walk)."""
    return next(m for m in repatriation(today).moves if m.path == path)


def repatriation_until(today: date, path: str) -> list[Move]:
    """The demo repatriation's moves before the first `path`, without its cancelled plan."""
    moves = repatriation(today).moves
    moves = [m for i, m in enumerate(moves)
             if not (m.path == "transport" and moves[i + 1].path == "transport-cancellation")
             and m.path != "transport-cancellation"]
    return moves[:[m.path for m in moves].index(path)]


THREAT = {"kind": "threat", "details": "Her former employer left a message at the shelter."}


def threatened_before_departure(today: date, receiving: str = RECEIVING) -> Walk:
    """A return planned, then a threat to the person before she leaves (the referring
    agency's new assessment with a safety plan, and the departure, follow)."""
    walk = repatriation(today, receiving=receiving)
    incident = {**THREAT, "occurred_on": today.isoformat()}
    return Walk(walk.opening, [*repatriation_until(today, "departure"),
                               Move(Side.REFERRING, "protection-incident", incident)])


def safety_replanned(today: date, side: Side = Side.REFERRING) -> Move:
    """A side's new assessment, with a safety plan, after an incident."""
    return Move(side, "risk-assessment", {
        "level": "high", "factors": ["threat from the former employer"],
        "safety_plan": "Escort from the shelter to the airport; new phone number.",
        "valid_until": (today + timedelta(days=90)).isoformat()})


PROCEEDING = "CR-2025-118"  # the reference PRIVATE_BEFORE links; it never leaves home


def witness_home_before_trial(today: date, receiving: str = RECEIVING) -> Walk:
    """A witness who goes home before the trial (a remote-testimony clearance lets her
    leave); once she is home the referring agency learns of the hearing, asks the
    receiving agency to tell her of it and to arrange her testimony by video-conference,
    then, once compensation is awarded, to hand it over. The receiving agency answers each
    request (the answers come last: `justice_answers`). She agreed that the receiving agency
    learns of her witness protection."""
    walk = repatriation(today, receiving=receiving)
    moves = repatriation_until(today, "follow-up")
    i, j = [m.path for m in moves].index("referral"), [m.path for m in moves].index("transport")
    R = Side.REFERRING
    hearing, due = (today + timedelta(days=30)).isoformat(), (today + timedelta(days=10))
    return Walk(walk.opening, [
        *moves[:i], *PRIVATE_BEFORE["referral"][2:], *moves[i:j],
        *PRIVATE_BEFORE["transport"], *moves[j:],
        Move(R, "protection-measure", {"kind": "witness_protection", "valid_until": hearing,
                                       "shared_with_consent": True}),
        Move(R, "proceeding-update", {"reference": PROCEEDING, "stage": "trial",
                                      "next_hearing_on": hearing, "person_informed": False}),
        Move(R, "justice-request", {"kind": "inform_person", "reference": PROCEEDING,
                                    "due_on": due.isoformat(), "hearing_on": hearing}),
        Move(R, "justice-request", {"kind": "remote_testimony", "reference": PROCEEDING,
                                    "due_on": hearing, "hearing_on": hearing}),
        Move(R, "compensation-claim", {"filed_on": today.isoformat()}),
        Move(R, "compensation-decision", {"decided_on": today.isoformat(), "awarded": True,
                                          "amount": "4000.00", "currency": "EUR"}),
        Move(R, "justice-request", {"kind": "compensation_payment",
                                    "due_on": (today + timedelta(days=60)).isoformat()}),
    ])


def justice_answers(today: date) -> list[Move]:
    """The receiving agency's answers to the witness's three requests, all done today."""
    return [Move(Side.RECEIVING, "justice-response",
                 {"kind": kind, "done_on": today.isoformat(), "outcome": "done"})
            for kind in ("inform_person", "remote_testimony", "compensation_payment")]
