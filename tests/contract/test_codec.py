"""The codec: every shared message round-trips, and only consented data crosses.

Each event is built by a real Case at its owning agency, encoded, decoded as a partner
would, and recorded in the partner's own Case; both cases must end in the same state.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any
from uuid import UUID

import pytest

from events.case import Case, CaseEvent, sealed_content
from events.chain import commitment, digest
from events.steps import BY_EVENT, STEPS, OpenCase, open_case, open_received
from events.steps.opening import LOCAL_FIELDS
from events.values import Actor, Scope, Side
from services.contract import ContractError
from services.contract.codec import (
    decode,
    encode,
    from_envelope,
    is_exported,
    message_digest,
    message_type,
    milestone,
    milestone_envelope,
    sent_digests,
    signature_valid,
    to_envelope,
    written_version,
)
from services.contract.upcasting import upcast
from services.exchange.directory import Directory
from services.exchange.sealing import open_sealed, seal
from services.network.demo_cases import ALL_SCOPES, PERSON, REFERRING, Move, Walk, repatriation
from services.signing import SigningKey
from tests.harness.walks import (
    actor,
    declined_after_override,
    declined_under_consent,
    erased_after_decline,
    held_after_transport,
    justice_answers,
    stayed,
    threatened_before_departure,
    witness_home_before_trial,
)

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
KEYS = {code: SigningKey.generate(code) for code in ("XA-NRM", "XB-NRM")}
DIRECTORY = Directory().with_agency(KEYS["XA-NRM"]).with_agency(KEYS["XB-NRM"])
GENESIS = "0" * 64


@dataclass
class Exchanged:
    event: CaseEvent
    envelope: dict[str, Any]
    case_at_event: Case
    decoded: tuple[UUID, str, int, dict[str, Any], Any]


@dataclass
class Pair:
    """Two agencies' streams of one case, kept in step by passing envelopes."""

    cases: dict[Side, Case] = field(default_factory=dict)
    sequence: dict[str, int] = field(default_factory=dict)
    digest: dict[str, str] = field(default_factory=dict)  # of each sender's last message
    exchanged: list[Exchanged] = field(default_factory=list)
    at: datetime = START

    def play(self, story: Walk) -> Pair:
        actor = Actor(REFERRING, "worker")
        self.cases[Side.REFERRING] = open_case(OpenCase(**story.opening), actor, self.at)
        self._send(Side.REFERRING, self.cases[Side.REFERRING].pending_events[-1])
        for move in story.moves:
            self._move(move)
        return self

    def _move(self, move: Move) -> None:
        self.at += timedelta(minutes=5)
        case = self.cases[move.side]
        version = case.version
        case.record(STEPS[move.path], move.body, actor(move), self.at)
        for event in case.pending_events[version:]:  # the step, and what the case adds
            if is_exported(event):
                self._send(move.side, event)

    def _send(self, side: Side, event: CaseEvent) -> None:
        case = self.cases[side]
        sender = case.agency(side)
        self.sequence[sender] = self.sequence.get(sender, 0) + 1
        prev = self.digest.get(sender, GENESIS)
        envelope = to_envelope(case, event, self.sequence[sender], KEYS[sender], prev)
        self.digest[sender] = envelope["integrity"]["hash"]
        recipient = envelope["recipient"]
        sealing = DIRECTORY.sealing(recipient)
        assert sealing is not None
        sealed = decode(encode(seal(envelope, str(case.id), sealing, KEYS[sender])))
        assert signature_valid(sealed, KEYS[sender].public)
        wire = open_sealed(sealed, KEYS[recipient].sealing)
        assert signature_valid(wire, KEYS[sender].public)
        decoded = from_envelope(wire)
        self.exchanged.append(Exchanged(event, envelope, _snapshot(case), decoded))
        case_id, kind, _, payload, received = decoded
        other = Side.RECEIVING if side is Side.REFERRING else Side.REFERRING
        if kind == "case-opened":
            self.cases[other] = open_received(case_id, payload, received, self.at)
        else:
            step = next(s for s in STEPS.values() if s.message_type == kind)
            self.cases[other].record(step, payload, Actor(sender, sender), self.at, received)


def _snapshot(case: Case) -> Case:
    return copy.deepcopy(case)


def test_every_shared_message_type_is_covered_by_the_stories() -> None:
    shared = {s.message_type for s in STEPS.values() if s.shared} | {"case-opened"}
    played = Pair().play(repatriation(START.date(), minor=True)).exchanged
    played += Pair().play(declined_after_override()).exchanged
    played += Pair().play(held_after_transport(START.date())).exchanged
    played += Pair().play(erased_after_decline()).exchanged
    played += Pair().play(stayed(START.date())).exchanged
    played += Pair().play(threatened_before_departure(START.date())).exchanged
    witness = witness_home_before_trial(START.date())
    played += Pair().play(Walk(witness.opening, [*witness.moves, *justice_answers(START.date())])
                          ).exchanged
    assert {message_type(x.event) for x in played} == shared


@pytest.mark.parametrize("story", [repatriation(START.date()), declined_after_override(),
                                   stayed(START.date()), repatriation(START.date(), minor=True),
                                   threatened_before_departure(START.date())],
                         ids=["repatriation", "declined", "stayed", "child", "threatened"])
def test_each_message_round_trips_into_the_partners_stream_unchanged(story: Walk) -> None:
    pair = Pair().play(story)
    referring, receiving = pair.cases[Side.REFERRING], pair.cases[Side.RECEIVING]
    for x in pair.exchanged:
        case_id, kind, version, payload, received = x.decoded
        assert case_id == referring.id and kind == message_type(x.event)
        assert received.sender == x.event.recorded_by
        assert received.sender_hash == x.envelope["integrity"]["hash"] != x.event.hash
        assert received.message_id == x.envelope["message_id"]
        expected = dict(x.event.data)
        if kind == "case-opened":
            expected = {k: v for k, v in expected.items()
                        if k not in ("person", "reason", *LOCAL_FIELDS)}
        if kind == "referral-sent" and x.case_at_event.consented(Scope.SHARE_IDENTITY):
            expected["person"] = story.opening["person"]
        step = BY_EVENT.get(type(x.event))
        if step is not None and step.for_partner is not None:
            expected = step.for_partner(expected)  # e.g. that a safety plan is in place
        if step is not None:  # free text that never crosses, or not without its scope
            withheld = {*step.local_only, *(f for scope, fs in step.protected.items()
                                            if not x.case_at_event.consented(scope) for f in fs)}
            expected = {k: v for k, v in expected.items() if k not in withheld}
        # Written as the newest version that holds it (v1 for most), upcast on receipt.
        assert (version, payload) == upcast(kind, written_version(kind, expected), expected)
    streams = {referring.state.referring: _events(referring),
               referring.state.receiving: _events(receiving)}
    for agency, stream in streams.items():
        # Each message's digest is chained to its sender's previous one, from GENESIS, and
        # the sender recomputes them all from its own stream.
        sent = [x.envelope["integrity"] for x in pair.exchanged if x.event.recorded_by == agency]
        assert [i["prev_hash"] for i in sent] == [GENESIS] + [i["hash"] for i in sent[:-1]]
        assert [i["hash"] for i in sent] == sent_digests(stream)
    # Both streams hold the same facts: same types, same data, same resulting case.
    mine = [(e.type, e.recorded_by) for e in streams[referring.state.referring]]
    theirs = [(e.type, e.recorded_by) for e in streams[referring.state.receiving]]
    assert mine == theirs
    if referring.consented(Scope.SHARE_IDENTITY):
        assert _comparable(referring) == _comparable(receiving)
    else:  # without consent the partner never learns who the person is
        assert receiving.state.person is None
        assert referring.state.person == story.opening["person"]
        assert _comparable(referring)[5:] == _comparable(receiving)[5:]


def _events(case: Case) -> list[CaseEvent]:
    return [e for e in case.collect_events() if isinstance(e, CaseEvent)]


def _comparable(case: Case) -> Any:
    state = case.state
    # The opening never carries the reason; v2 of transport adds a default: neither is state.
    return (state.kind, state.referring, state.receiving, state.minor, state.person,
            state.consent, state.referred_at, state.accepted_at, state.declined_at,
            state.risk, state.transport, state.departed_at, state.arrived_at,
            state.plan_services, state.follow_up_months, state.closed, state.on_hold)


PROTECTED = [(s.message_type, scope, fields) for s in STEPS.values()
             for scope, fields in s.protected.items()]


@pytest.mark.parametrize("consented", [ALL_SCOPES, ["refer", "return"]],
                         ids=["with-consent", "without-consent"])
def test_protected_fields_cross_only_under_their_consent_scope(consented: list[str]) -> None:
    pair = Pair().play(repatriation(START.date(), scopes=consented, minor=True))
    declined = Pair().play(declined_under_consent(consented))  # a repatriation is not declined
    seen = set()
    for x in pair.exchanged + declined.exchanged:
        kind, payload = message_type(x.event), x.envelope["payload"]
        for protected_kind, scope, fields in PROTECTED:
            if kind != protected_kind:
                continue
            seen.add(kind)
            carried = [f for f in fields if f in payload]
            # Under the scope active when the step happened (a guardian comes before consent).
            active = scope.value in consented and x.case_at_event.consented(scope)
            assert carried == (list(fields) if active else []), kind
    expected = {k for k, _, _ in PROTECTED}
    if "share_identity" not in consented:  # verifying identity needs that scope itself
        expected -= {"identity-verification-requested"}
    assert seen == expected
    carrying_person = [message_type(x.event) for x in pair.exchanged
                       if "person" in x.envelope["payload"]]
    assert carrying_person == (["referral-sent"] if "share_identity" in consented else [])


def test_the_case_opening_never_carries_the_person_or_the_reason() -> None:
    opened = Pair().play(repatriation(START.date())).exchanged[0]
    assert message_type(opened.event) == "case-opened"
    assert "person" in opened.event.data and "reason" in opened.event.data
    assert "person" not in opened.envelope["payload"]
    assert "reason" not in opened.envelope["payload"]


def test_the_identity_travels_with_the_referral_only_under_share_identity() -> None:
    def referral(scopes: list[str]) -> dict[str, Any]:
        pair = Pair().play(repatriation(START.date(), scopes=scopes))
        return next(x.envelope for x in pair.exchanged if message_type(x.event) ==
                    "referral-sent")["payload"]

    assert referral(ALL_SCOPES)["person"] == PERSON
    assert "person" not in referral(["refer", "share_health", "return"])


def test_milestones_are_de_identified_and_only_under_consent_to_monitoring() -> None:
    pair = Pair().play(repatriation(START.date()))
    allowed = {"corridor", "kind", "milestone", "status", "occurred_at", "due_at", "minor",
               "incident", "escalation", "sex", "age_band", "citizenship", "forms",
               "htcds_status", "opened_at"}
    withdrawn = False
    for x in pair.exchanged:
        case = x.case_at_event
        found = milestone(case, x.event)
        if message_type(x.event) == "consent-withdrawn":
            withdrawn = True
        if not case.consented(Scope.MONITORING):
            assert found is None, message_type(x.event)
            continue
        assert found is not None and set(found) <= allowed
        assert ("incident" in found) is (message_type(x.event) == "transit-incident-recorded")
        assert found["milestone"] == message_type(x.event)
        alias = UUID(int=42)  # keyed per corridor by the relay (see test_pseudonyms)
        env = milestone_envelope(case, x.event, 1, KEYS[x.event.recorded_by], alias)
        assert env is not None and env["case_id"] == str(alias) != str(case.id)
        assert env["recipient"] == "monitor"
        assert PERSON["family_name"] not in encode(env).decode()
        assert PERSON["date_of_birth"] not in encode(env).decode()
        assert signature_valid(env, KEYS[x.event.recorded_by].public)
    assert withdrawn
    planned = next(x for x in pair.exchanged if message_type(x.event) == "departure-confirmed")
    found = milestone(planned.case_at_event, planned.event)
    assert found is not None and found["status"] == "in_transit" and "due_at" in found


def test_the_case_opening_has_no_milestone_before_consent() -> None:
    opened = Pair().play(repatriation(START.date())).exchanged[0]
    assert milestone(opened.case_at_event, opened.event) is None


def test_a_tampered_or_foreign_signature_does_not_verify() -> None:
    env = decode(encode(Pair().play(repatriation(START.date())).exchanged[1].envelope))
    assert signature_valid(env, KEYS["XA-NRM"].public)
    assert not signature_valid(env, KEYS["XB-NRM"].public)
    tampered = {**env, "payload": {**env["payload"], "scopes": ["refer"]}}
    assert not signature_valid(tampered, KEYS["XA-NRM"].public)
    resequenced = {**env, "sequence": env["sequence"] + 1}
    assert not signature_valid(resequenced, KEYS["XA-NRM"].public)


def test_received_facts_and_agency_only_steps_never_leave() -> None:
    pair = Pair().play(repatriation(START.date()))
    receiving = pair.cases[Side.RECEIVING]
    received = [e for e in _events(receiving) if e.received is not None]
    assert received and not any(is_exported(e) for e in received)
    case = pair.cases[Side.REFERRING]
    asylum = case.record(STEPS["legal-proceeding"], {"reference": "P-1", "role": "witness"},
                         Actor(REFERRING, "w"), pair.at)
    assert not BY_EVENT[type(asylum)].shared and not is_exported(asylum)
    with pytest.raises(ValueError, match="does not leave"):
        to_envelope(case, asylum, 99, KEYS[REFERRING])


def test_a_bad_envelope_is_refused_naming_the_field() -> None:
    env = decode(encode(Pair().play(repatriation(START.date())).exchanged[1].envelope))
    with pytest.raises(ContractError, match="sequence"):
        from_envelope({**env, "sequence": 0})
    with pytest.raises(ContractError, match="payload.scopes"):
        from_envelope({**env, "payload": {**env["payload"], "scopes": "all"}})


def test_a_transport_plan_goes_as_the_newest_version_that_says_all_it_says() -> None:
    story = repatriation(START.date())
    named = next(m for m in story.moves if m.path == "transport")
    organisation = Move(named.side, "transport",
                        {**named.body, "escort_organisation": "Regional escort service"})
    moves = story.moves[: story.moves.index(named)]
    for plan, version, escort in ((named, 1, "unspecified"),
                                  (organisation, 2, "Regional escort service")):
        pair = Pair().play(Walk(story.opening, [*moves, plan]))
        sent = pair.exchanged[-1]
        assert sent.envelope["schema"] == f"homeward.transport-planned.v{version}"
        _, _, latest, payload, _ = sent.decoded
        assert latest == 2 and payload["escort_organisation"] == escort


# -- the digest that crosses --------------------------------------------------
# A security review recovered `medical_escort` and `fit_to_travel`, withheld for lack of
# `share_health`, by trying 16 candidates (4 guessable subs x 2 x 2) against the event
# hash the message used to carry. The message now carries a digest over the minimised
# payload only; the same 16 guesses find nothing.

WITHOUT_HEALTH = ["refer", "share_identity", "return", "monitoring"]


def test_the_16_candidate_guess_finds_the_event_hash_but_not_the_digest_sent() -> None:
    pair = Pair().play(repatriation(START.date(), scopes=WITHOUT_HEALTH))
    plan = next(x for x in pair.exchanged if message_type(x.event) == "transport-planned")
    event, envelope = plan.event, plan.envelope
    payload, integrity = envelope["payload"], envelope["integrity"]
    assert "medical_escort" not in payload and "fit_to_travel" not in payload
    agency = event.recorded_by
    subs = [f"{agency.lower()}-{role}" for role in ("worker", "caseworker", "supervisor", "admin")]
    candidates = list(product(subs, (True, False), (True, False)))
    assert len(candidates) == 16

    def full(escort: bool, fit: bool) -> dict[str, object]:
        return {**payload, "medical_escort": escort, "fit_to_travel": fit}

    def as_event(sub: str, escort: bool, fit: bool, prev: str) -> str:
        # Hashed as the event is: personal fields as commitments under the event's salts.
        data, salts = full(escort, fit), event.salts or {}
        committed = {name: commitment(salt, data[name]) for name, salt in salts.items()}
        content = sealed_content(event.type, event.originator_id, event.originator_version,
                                 event.timestamp, agency, sub, data, None, prev, committed)
        return digest(content)

    # Against the event's own hash (what used to cross), the guess recovers the withheld fields
    # for whoever holds the salts (they never leave the node, and erasure destroys them).
    hits = [c for c in candidates if as_event(*c, event.prev_hash) == event.hash]
    assert hits == [(event.actor, event.data["medical_escort"], event.data["fit_to_travel"])]
    # Against what crosses now, no candidate matches, whichever way it is hashed.
    assert integrity["hash"] != event.hash
    assert not [c for c in candidates if as_event(*c, integrity["prev_hash"]) == integrity["hash"]]
    kind, sequence = message_type(event), envelope["sequence"]
    guessed = [message_digest(envelope["case_id"], kind, sequence, full(e, f), integrity["prev_hash"])
               for _, e, f in candidates]
    assert integrity["hash"] not in guessed
    # It is the digest of exactly what the partner reads, so the partner can check it.
    assert integrity["hash"] == message_digest(envelope["case_id"], kind, sequence, payload,
                                               integrity["prev_hash"])


def _asylum_story(outcome: str) -> Walk:
    story = held_after_transport(START.date())
    R = Side.REFERRING
    moves = [m if m.path != "asylum-claim-closure" else
             Move(R, m.path, {"outcome": outcome}) for m in story.moves]
    if outcome == "granted":
        moves += [Move(R, "transport-cancellation", {"reason": "Return no longer possible."}),
                  Move(R, "closure", {"reason": "protection_granted",
                                      "justification": "Asylum granted: refugee status."},
                       supervisor=True)]
    return Walk(story.opening, moves)


@pytest.mark.parametrize("outcome", ["withdrawn", "granted"])
def test_no_cross_border_message_of_a_case_with_an_asylum_claim_mentions_asylum(
    outcome: str,
) -> None:
    pair = Pair().play(_asylum_story(outcome))
    kinds = [message_type(x.event) for x in pair.exchanged]

    assert "return-hold-changed" in kinds  # the partner learns of the hold, not its reason
    for x in pair.exchanged:
        wire = encode(x.envelope).decode().lower()
        assert "asylum" not in wire and "protection" not in wire and "refugee" not in wire
        milestone_env = milestone_envelope(x.case_at_event, x.event, 1,
                                           KEYS[x.event.recorded_by], UUID(int=42))
        if milestone_env is not None:
            assert "asylum" not in encode(milestone_env).decode().lower()
    receiving = pair.cases[Side.RECEIVING]
    assert not receiving.state.asylum_open and not receiving.state.protection_granted
    assert receiving.state.partner_held is (outcome == "granted")
