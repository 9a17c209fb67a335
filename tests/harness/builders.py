"""Builders for the tests: the one opening builder, a valid body for every step, the
actors of both agencies, and the one story builder.

`Story` drives two agencies' streams of one case through the domain, feeding each
side's shared facts, minimised by the real codec, to the other as received facts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4

from events.case import Case, CaseEvent
from events.steps import BY_EVENT, STEPS, OpenCase, open_case, open_received
from events.values import Actor, Received, Role
from services.contract.codec import is_exported, shared_payload

XA, XB = "XA-NRM", "XB-NRM"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANNA = Actor(XA, "anna")  # caseworker at the referring agency
SARA = Actor(XA, "sara", frozenset({Role.CASEWORKER, Role.SUPERVISOR}))
BORIS = Actor(XB, "boris")  # caseworker at the receiving agency
BEA = Actor(XB, "bea", frozenset({Role.CASEWORKER, Role.SUPERVISOR}))
CANARY = "Zzyzxcanary"


def opening(kind: str = "repatriation", minor: bool = False, *, with_id: bool = True,
            **extra: Any) -> dict[str, Any]:
    """The body that opens a case, with its own id unless `with_id=False` (the node then
    gives one); `extra` replaces any field, the person included."""
    return {
        **({"id": str(uuid4())} if with_id else {}), "kind": kind, "receiving_agency": XB,
        "person": {"given_names": "Maria Elena", "family_name": CANARY,
                   "date_of_birth": "2012-05-01" if minor else "1994-03-12", "sex": "female",
                   "nationality": "XB", "languages": ["ro", "en"]},
        "minor": minor, "identification": "formal", "reason": "identified during a labour inspection",
        "urgency": "routine", **extra,
    }


def bodies(at: datetime) -> dict[str, dict[str, Any]]:
    """A valid body for every step path, for a case planned around `at`."""
    day = at.date()
    departure, arrival = at + timedelta(days=10), at + timedelta(days=10, hours=4)
    return {
        "consent": {"scopes": ["refer", "share_identity", "share_health", "return", "monitoring"],
                    "language": "ro", "interpreter": True, "given_by": "person"},
        "consent-withdrawal": {"scopes": ["return"], "reason": "changed her mind"},
        "guardian": {"name": "Ioana Marin", "authority": "XA family court"},
        "age-assessment": {"assessed_on": str(day), "outcome": "disputed"},
        "capacity-assessment": {"assessed_on": str(day), "incapacity_found": True},
        "stay-decision": {"decided_on": str(day), "basis": "residence_permit"},
        "residence-permit": {"applied_on": str(day), "outcome": "pending"},
        "proceeding-update": {"reference": "CR-2026-1187", "stage": "trial",
                              "next_hearing_on": str(day + timedelta(days=20)),
                              "person_informed": True},
        "proceeding-closure": {"reference": "CR-2026-1187", "outcome": "conviction",
                               "person_informed": True},
        "legal-assistance": {"provider": "Legal aid clinic", "from_date": str(day)},
        "compensation-claim": {"filed_on": str(day), "amount": "5000.00", "currency": "EUR"},
        "justice-request": {"kind": "inform_person", "reference": "CR-2026-1187",
                            "due_on": str((arrival + timedelta(days=14)).date()),
                            "hearing_on": str((arrival + timedelta(days=30)).date())},
        "justice-response": {"kind": "inform_person", "outcome": "done",
                             "done_on": str((arrival + timedelta(days=5)).date())},
        "compensation-decision": {"decided_on": str(day), "awarded": True, "amount": "3000.00",
                                  "currency": "EUR"},
        "asylum-claim": {"lodged_on": str(day)},
        "asylum-claim-closure": {"outcome": "refused"},
        "referral": {"note": "please assist with return"},
        "risk-to-life-override": {"justification": "credible threat to life from the network"},
        "acknowledgement": {"contact": {"name": "Ion Popa", "email": "ion@xb.example"},
                            "deputy": {"name": "Ana Dima", "email": "ana@xb.example"}},
        "acceptance": {"note": "accepted"},
        "decline": {"reason": "outside our mandate"},
        "identity-verification-request": {},
        "identity-verification": {"result": "confirmed", "nationality": "XB"},
        "risk-assessment": {"level": "medium", "factors": ["debt bondage"],
                            "safety_plan": "escort and safe house", "valid_until": str(day + timedelta(days=60))},
        "return-decision": {"voluntary": True, "informed": True,
                            "options_explained": ["stay", "residence_permit", "third_country"],
                            "language": "ro", "interpreter": True},
        "best-interests-determination": {"in_favour_of_return": True, "determined_by": "guardian panel"},
        "family-tracing": {"result": "found_suitable", "completed_on": str(day)},
        "caregiver-confirmation": {"caregiver": {"name": "Elena Popa", "relationship": "aunt"}},
        "legal-proceeding": {"reference": "CR-2026-1187", "role": "witness"},
        "proceedings-clearance": {"kind": "remote_testimony"},
        "travel-document": {"type": "emergency_travel_document", "number": "ETD0042",
                            "valid_until": str(day + timedelta(days=90))},
        "reception": {"arrival_point": "Otopeni airport", "type": "shelter", "met_by": "Ion Popa",
                      "from_date": str(day + timedelta(days=5))},
        "transport": {"mode": "air", "route": "XA1 -> XB2", "departure_at": departure.isoformat(),
                      "arrival_at": arrival.isoformat(), "escort": "IO escort officer",
                      "medical_escort": False, "fit_to_travel": True},
        "transport-cancellation": {"reason": "flight cancelled"},
        "departure": {"departed_at": departure.isoformat()},
        "transit-incident": {"kind": "medical", "occurred_at": (departure + timedelta(hours=1)).isoformat(),
                             "details": "fainted at the transfer; seen by airport medics"},
        "return-hold": {"held": True},
        "protection-measure": {"kind": "protective_order",
                               "valid_until": str(day + timedelta(days=30))},
        "penalty-matter": {"kind": "removal_order", "status": "open",
                           "linked_to_exploitation": True},
        "trafficking-profile": {"forms": ["labour", "domestic_servitude"],
                                "country_of_exploitation": "XA"},
        "protection-incident": {"kind": "threat", "occurred_on": str(day),
                                "details": "A man at the shelter gate asked for her by name"},
        "notes": {"text": "Called her sister; she will meet her at the station."},
        "arrival": {"arrived_at": arrival.isoformat(), "received_by": "Ion Popa"},
        "shelter-admission": {"shelter": "SH-7", "admitted_on": str((arrival).date())},
        "shelter-exit": {"shelter": "SH-7", "left_on": str((arrival + timedelta(days=40)).date())},
        "reintegration-plan": {"services": ["psychosocial", "vocational", "housing"]},
        "service": {"service": "vocational", "delivered_on": str((arrival + timedelta(days=20)).date()),
                    "provider": "NGO Casa"},
        "follow-up": {"month": 3, "wellbeing": "good", "retrafficking_risk": False},
        "closure": {"reason": "completed"},
        "reopening": {"reason": "new risk reported"},
        "erasure": {"reason": "subject-request"},
    }


ACTORS = {XA: ANNA, XB: BORIS}

REPATRIATION = [
    (XA, "consent"), (XA, "referral"), (XB, "acknowledgement"), (XB, "acceptance"),
    (XA, "identity-verification-request"), (XB, "identity-verification"),
    (XA, "risk-assessment"), (XB, "risk-assessment"), (XA, "return-decision"),
    (XB, "travel-document"), (XB, "reception"), (XA, "transport"), (XA, "departure"),
    (XB, "arrival"), (XB, "shelter-admission"), (XB, "reintegration-plan"), (XB, "service"),
    (XB, "follow-up"), (XB, "shelter-exit"), (XB, "closure"),
]


class Story:
    """Both agencies' streams of one case, kept in step like the exchange would."""

    def __init__(self, at: datetime = T0, **opening_fields: Any) -> None:
        self.at = at
        self.bodies = bodies(at)
        self.xa = open_case(OpenCase.model_validate(opening(**opening_fields)), ANNA, at)
        self.xb: Case | None = None
        self.outbox: list[tuple[Case, CaseEvent]] = []  # XA events the partner has not seen yet
        self.sequence = {XA: 0, XB: 0}
        opened: CaseEvent = self.xa.pending_events[0]  # type: ignore[assignment]
        # XA's shared events before the referral, minimised as they happened.
        self.backlog = [(opened, shared_payload(self.xa, opened))]
        if self.xa.state.minor:  # a child consents through a guardian, having been heard
            self.bodies["consent"] = {**self.bodies["consent"], "given_by": "guardian",
                                      "child_views_heard": True}
            self.step(XA, "guardian")

    def stream(self, agency: str) -> Case:
        case = self.xa if agency == XA else self.xb
        assert case is not None, "the receiving agency has not heard of the case yet"
        return case

    def step(self, agency: str, path: str, actor: Actor | None = None, **changes: Any) -> CaseEvent:
        body = {**self.bodies[path], **changes}
        case = self.stream(agency)
        at = recorded_at(path, body, self.at)
        version = case.version
        event = case.record(STEPS[path], body, actor or ACTORS[agency], at)
        for recorded in case.pending_events[version:]:  # the step, and what the case adds
            assert isinstance(recorded, CaseEvent)
            self._share(agency, recorded)
        return event

    def run(self, steps: list[tuple[str, str]]) -> None:
        for agency, path in steps:
            self.step(agency, path)

    def _share(self, agency: str, event: CaseEvent) -> None:
        if not is_exported(event):
            return
        data = shared_payload(self.stream(agency), event)
        if agency == XA and self.xb is None:
            self.backlog.append((event, data))
            if path_of(event) != "referral":
                return
            for earlier, its_data in self.backlog:
                self._deliver(XA, earlier, its_data)
            return
        self._deliver(agency, event, data)

    def _deliver(self, sender: str, event: CaseEvent, data: dict[str, Any]) -> None:
        """What the relay and inbox do, without the broker: minimise, then record."""
        self.sequence[sender] += 1
        received = Received(sender, str(uuid4()), event.hash, self.sequence[sender])
        if event.type == "CaseOpened":
            self.xb = open_received(event.originator_id, data, received, self.at)
            return
        partner = self.xb if sender == XA else self.xa
        assert partner is not None
        partner.record(BY_EVENT[type(event)], data, Actor(sender, sender), self.at, received)


def recorded_at(path: str, body: dict[str, Any], at: datetime) -> datetime:
    """A caseworker records what happened once it happened: no earlier than the body's
    "it happened at" fields (departure, arrival, a service delivered...)."""
    times = [at]
    for name in STEPS[path].body.happened:
        value = body.get(name)
        if isinstance(value, str) and "T" in value:
            times.append(datetime.fromisoformat(value))
        elif isinstance(value, str):
            times.append(datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC))
    return max(times)


def path_of(event: CaseEvent) -> str:
    return BY_EVENT[type(event)].path


def snapshot(case: Case) -> tuple[int, str, Any]:
    """What must not change when a step is refused."""
    import copy

    return case.version, case.last_hash, copy.deepcopy(case.state)
