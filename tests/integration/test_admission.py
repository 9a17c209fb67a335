"""The inbox's admission, driven directly over real SQLite stores: every refusal names its
reason, and a refused message leaves this agency's case as it was.

Messages are built as the partner's relay builds them (the real codec and Ed25519 keys),
then, where a test needs a bad one, changed and signed again by whoever sends it, and
sealed to this agency's key as every message on the wire is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.case import Case
from events.steps import OpenCase
from events.values import Actor
from services.application import CaseNotFound, Homeward
from services.backends import case_keys_for
from services.contract.codec import decode, encode, sign
from services.exchange import topics
from services.exchange.admission import RETRIES, Admission, Rejected
from services.exchange.directory import Directory, DirectoryFile, save
from services.exchange.relay import Relay
from services.exchange.sealing import SUITE, SUITE_NAME, header, info, seal
from services.network.demo_cases import PERSON, repatriation
from services.signing import SigningKey, b64url
from tests.harness.stores import homeward, sqlite_env
from tests.harness.walks import actor

XA, XB, XC, XD = "XA-NRM", "XB-NRM", "XC-NRM", "XD-NRM"  # this agency is XB
CORRIDORS = [(XA, XB), (XC, XB), (XC, XD)]
KEYS = {code: SigningKey.generate(code) for code in (XA, XB, XC)}


def no_broker() -> Any:
    raise AssertionError("admission tests build messages; they never publish")


@dataclass
class Referral:
    """A case XA opened and referred to XB: what XA's relay sends, in order."""

    case_id: UUID
    messages: list[dict[str, Any]]  # case-opened, consent-recorded, referral-sent
    milestones: list[dict[str, Any]]


class World:
    """XA (referring, its own store), XB (this agency: the store under test) and XC, an
    agency the directory trusts on other corridors."""

    def __init__(self, tmp_path: Path) -> None:
        self.keys = KEYS
        self.directory_path = tmp_path / "directory.json"
        self.write_directory(CORRIDORS)
        self.a = homeward(sqlite_env(tmp_path / "xa.sqlite"))
        self.b_env = sqlite_env(tmp_path / "xb.sqlite")
        self.b = homeward(self.b_env)
        self.directory = DirectoryFile(self.directory_path).current
        self.admission = Admission(self.b, KEYS[XB].sealing, self.directory)

    def write_directory(self, corridors: list[tuple[str, str]]) -> None:
        directory = Directory()
        for key in self.keys.values():
            directory = directory.with_agency(key)
        for referring, receiving in corridors:
            directory = directory.with_corridor(referring, receiving)
        save(self.directory_path, directory)

    def refer(self, scopes: list[str] | None = None) -> Referral:
        story = repatriation(datetime.now(UTC).date(), scopes=scopes, receiving=XB)
        case_id = self.a.open_case(OpenCase(**story.opening), Actor(XA, "worker")).id
        for move in story.moves[:2]:
            assert move.path in ("consent", "referral")
            self.a.record(case_id, move.path, move.body, actor(move, XA, XB))
        relay = Relay(self.a, self.keys[XA], no_broker, self.directory)
        out = relay.messages(list(self.a.recorder.select_notifications(1, 1000)))
        messages = [m.envelope for m in out if m.topic == topics.inbox(XB)
                    and m.envelope["case_id"] == str(case_id)]
        alias = relay.pseudonyms.monitoring(XA, XB, case_id)
        milestones = [m.envelope for m in out if m.topic == topics.MONITORING
                      and m.envelope["case_id"] == str(alias)]
        assert len(messages) == 3
        return Referral(case_id, messages, milestones)

    def admit(self, message: dict[str, Any] | bytes, admission: Admission | None = None) -> None:
        admission = admission or self.admission
        value = message if isinstance(message, bytes) else sealed(message)
        admission.apply(admission.verify(value))

    def stream(self, case_id: UUID) -> list[tuple[str, str]]:
        """This agency's stream of the case (empty while it does not know the case)."""
        try:
            return [(e.type, e.hash) for e in self.b.timeline(case_id)]
        except CaseNotFound:
            return []

    def refused(self, message: dict[str, Any] | bytes, case_id: UUID) -> str:
        """The reason code of the refusal; the case must be as it was before."""
        before = self.stream(case_id)
        with pytest.raises(Rejected) as refusal:
            self.admit(message)
        assert self.stream(case_id) == before
        return refusal.value.reason.split(":")[0]


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    world = World(tmp_path)
    yield world
    world.a.close()
    world.b.close()


def signed(message: dict[str, Any], key: SigningKey, **changes: Any) -> bytes:
    """The message with `changes`, signed by `key` (its sender must sign what it sends),
    sealed to this agency and signed again. Changed, it no longer carries the checkpoint
    of the message it was made from."""
    if changes:
        message = {k: v for k, v in message.items() if k != "checkpoint"}
    return sealed(sign({**message, **changes}, key), key)


def sealed(message: dict[str, Any], key: SigningKey | None = None,
           to: SigningKey = KEYS[XB]) -> bytes:
    """The message on the wire: sealed to `to`, the sealed envelope signed by `key` (by
    default the key of its sender)."""
    directory = Directory().with_agency(to)
    sealing = directory.sealing(to.agency)
    assert sealing is not None
    signer = key or KEYS[message["sender"]]
    return encode(seal(message, str(uuid.uuid5(uuid.NAMESPACE_URL, message["message_id"])),
                       sealing, signer))


def new_id() -> str:
    return str(uuid.uuid4())


# -- the message itself -------------------------------------------------------

@pytest.mark.parametrize("value", [b"{this is not json", b'"\xff\xfe"'],
                         ids=["not-json", "not-utf-8"])
def test_bytes_that_are_not_json_are_refused(world: World, value: bytes) -> None:
    referral = world.refer()
    world.admit(referral.messages[0])

    assert world.refused(value, referral.case_id) == "not-json"


def test_a_message_its_schema_does_not_allow_is_refused(world: World) -> None:
    referral = world.refer()
    opening = referral.messages[0]
    bad = signed(opening, world.keys[XA], payload={**opening["payload"], "unknown": 1})

    assert world.refused(bad, referral.case_id) == "schema"
    world.admit(opening)


# -- sealed to whom ------------------------------------------------------------

def test_a_message_in_clear_is_refused(world: World) -> None:
    referral = world.refer()

    assert world.refused(encode(referral.messages[0]), referral.case_id) == "not-sealed"
    world.admit(referral.messages[0])


def test_a_message_sealed_to_another_agency_is_refused(world: World) -> None:
    referral = world.refer()
    # Addressed to XB and signed by XA, but sealed to XC's key: XB cannot read it.
    to_xc = sealed(referral.messages[0], to=KEYS[XC])

    assert world.refused(to_xc, referral.case_id) == "sealed-to-another"
    world.admit(referral.messages[0])


def test_a_ciphertext_that_does_not_open_here_is_refused(world: World) -> None:
    referral = world.refer()
    genuine = decode(sealed(referral.messages[0]))
    xb = Directory().with_agency(KEYS[XB]).sealing(XB)
    assert xb is not None
    # XC's ciphertext under XB's key id, signed again by XA: it does not open with XB's key.
    to_xc = decode(sealed(referral.messages[0], to=KEYS[XC]))
    swapped = {**genuine, "sealed": {**to_xc["sealed"], "key_id": xb.sealing_key_id}}
    moved = {**genuine, "case_ref": new_id()}  # a genuine ciphertext under another header

    for bad in (swapped, moved):
        assert world.refused(encode(sign(bad, KEYS[XA])), referral.case_id) == "unsealable"
    world.admit(referral.messages[0])


def test_a_sealed_message_that_differs_from_its_header_is_refused(world: World) -> None:
    referral = world.refer()
    opening = referral.messages[0]
    # The header says sequence 1; inside, the message says 2: the header would mislead.
    inside = sign({**opening, "sequence": 2}, KEYS[XA])
    directory = Directory().with_agency(KEYS[XB])
    sealing = directory.sealing(XB)
    assert sealing is not None
    head = header(opening, new_id())
    ciphertext = SUITE.encrypt(encode(inside), sealing.public, info=info(head))
    lying = sign({**head, "sealed": {"suite": SUITE_NAME, "key_id": sealing.sealing_key_id,
                                     "ciphertext": b64url(ciphertext)}, "integrity": {}},
                 KEYS[XA])

    assert world.refused(encode(lying), referral.case_id) == "header-mismatch"
    world.admit(opening)


# -- who sent it --------------------------------------------------------------

@pytest.mark.parametrize("sender", ["stranger", "rotated-key"])
def test_a_sender_or_key_the_directory_does_not_list_is_refused(world: World,
                                                               sender: str) -> None:
    referral = world.refer()
    # An agency nobody published, or XA signing with a key it has not published yet.
    key = SigningKey.generate("XE-NRM" if sender == "stranger" else XA)
    bad = signed(referral.messages[0], key, sender=key.agency)

    # A stranger is refused for good; a key not listed yet may be listed soon (transient).
    expected = "unknown-sender" if sender == "stranger" else "unknown-key"
    assert world.refused(bad, referral.case_id) == expected
    world.admit(referral.messages[0])


def test_a_message_changed_after_it_was_signed_is_refused(world: World) -> None:
    referral = world.refer()
    world.admit(referral.messages[0])
    world.admit(referral.messages[1])
    genuine = referral.messages[2]
    changed = {**genuine, "payload": {**genuine["payload"], "note": "changed on the way"}}

    assert world.refused(sealed(changed), referral.case_id) == "bad-signature"
    world.admit(genuine)


def test_a_message_addressed_to_another_agency_is_refused(world: World) -> None:
    referral = world.refer()
    elsewhere = signed(referral.messages[0], world.keys[XA], recipient=XC)

    assert world.refused(elsewhere, referral.case_id) == "wrong-recipient"
    world.admit(referral.messages[0])


# -- on which corridor -------------------------------------------------------

def test_a_trusted_agency_that_is_not_on_the_case_is_refused(world: World) -> None:
    referral = world.refer()
    for message in referral.messages:
        world.admit(message)
    # XC is trusted (and has a corridor to XB), but this case is XA's and XB's.
    intruder = signed(referral.messages[0], world.keys[XC], sender=XC, message_id=new_id(),
                      schema="homeward.referral-accepted.v1", payload={"note": "accepted"})

    assert world.refused(intruder, referral.case_id) == "not-a-partner"


def test_a_case_opened_between_two_other_agencies_is_refused(world: World) -> None:
    referral = world.refer()
    opening = referral.messages[0]
    case_id = uuid.uuid4()
    # XC -> XD is a corridor the directory lists, but not one this agency is on.
    theirs = signed(opening, world.keys[XC], sender=XC, case_id=str(case_id),
                    correlation_id=str(case_id), message_id=new_id(),
                    payload={**opening["payload"], "referring_agency": XC,
                             "receiving_agency": XD})

    assert world.refused(theirs, case_id) == "not-a-partner"


def test_a_case_opened_on_a_corridor_the_directory_does_not_list_is_refused(
    world: World,
) -> None:
    world.write_directory([(XC, XB)])
    referral = world.refer()

    assert world.refused(referral.messages[0], referral.case_id) == "no-corridor"
    world.write_directory(CORRIDORS)
    world.admit(referral.messages[0])


def test_a_corridor_taken_out_of_the_directory_stops_the_messages_of_its_cases(
    world: World,
) -> None:
    referral = world.refer()
    world.admit(referral.messages[0])
    world.write_directory([(XC, XB), (XC, XD)])

    assert world.refused(referral.messages[1], referral.case_id) == "no-corridor"


@pytest.mark.parametrize("where", ["a-step", "an-opening-out-of-sequence"])
def test_a_message_on_a_case_unknown_here_is_refused(world: World, where: str) -> None:
    referral = world.refer()
    case_id = uuid.uuid4()
    # A step needs the case; an opening starts it only as the sender's first message.
    message = referral.messages[1] if where == "a-step" else referral.messages[0]
    unknown = signed(message, world.keys[XA], case_id=str(case_id), sequence=2,
                     correlation_id=str(case_id), message_id=new_id())

    assert world.refused(unknown, case_id) == "case-not-found"


# -- recording it ------------------------------------------------------------

def test_a_message_type_with_no_step_here_is_refused(world: World) -> None:
    referral = world.refer()
    for message in referral.messages:
        world.admit(message)
    # A milestone is valid and signed, but it is for the monitor, not a step of the case.
    milestone = signed(referral.milestones[0], world.keys[XA], recipient=XB,
                       case_id=str(referral.case_id), correlation_id=str(referral.case_id),
                       sequence=len(referral.messages) + 1, message_id=new_id())

    assert world.refused(milestone, referral.case_id) == "unknown-step"


@pytest.mark.parametrize("copy", ["same-message", "same-sequence"])
def test_a_message_recorded_before_is_refused_as_a_duplicate(world: World, copy: str) -> None:
    referral = world.refer()
    for message in referral.messages[:2]:
        world.admit(message)
    again = referral.messages[1]
    if copy == "same-sequence":  # another id, a sequence already recorded
        again = signed(again, world.keys[XA], message_id=new_id())

    assert world.refused(again, referral.case_id) == "duplicate"


def test_a_step_the_sender_does_not_own_is_refused_with_the_domain_rule(world: World) -> None:
    referral = world.refer()
    for message in referral.messages:
        world.admit(message)
    # Only the receiving agency accepts a referral.
    own_acceptance = signed(referral.messages[2], world.keys[XA], message_id=new_id(),
                            schema="homeward.referral-accepted.v1", sequence=4,
                            payload={"note": "accepted on their behalf"})

    assert world.refused(own_acceptance, referral.case_id) == "step-owner"


def test_an_identity_sent_without_consent_to_share_it_is_refused(world: World) -> None:
    referral = world.refer(scopes=["refer"])
    for message in referral.messages[:2]:
        world.admit(message)
    sent = referral.messages[2]
    assert "person" not in sent["payload"]
    identified = signed(sent, world.keys[XA], payload={**sent["payload"], "person": PERSON})

    assert world.refused(identified, referral.case_id) == "data-minimisation"
    world.admit(sent)


class Contended(Homeward):
    """This agency's store where another worker saves the same case between the case the
    inbox holds (read, or kept in memory) and the inbox's save (a second process on the
    same SQLite file)."""

    rival: Homeward | None = None
    rival_saves = 0

    def _save(self, case: Case) -> None:
        if self.rival is not None:
            self.rival.record(case.id, "risk-assessment",
                              {"level": "low", "factors": [], "valid_until": "2099-01-01"},
                              Actor(XB, "rival"))
            self.rival_saves += 1
        super()._save(case)


def test_a_message_that_keeps_meeting_local_changes_is_refused_as_a_conflict(
    world: World,
) -> None:
    referral = world.refer()
    for message in referral.messages[:2]:
        world.admit(message)
    busy = Contended(world.b_env, keys_for=case_keys_for)
    admission = Admission(busy, KEYS[XB].sealing, world.directory)
    fact = admission.verify(sealed(referral.messages[2]))
    received_before = [e.hash for e in world.b.timeline(referral.case_id) if e.received]
    busy.rival = homeward(world.b_env)
    try:
        with pytest.raises(Rejected) as refusal:
            admission.apply(fact)
    finally:
        busy.rival.close()
        busy.rival = None

    assert refusal.value.reason.split(":")[0] == "conflict"
    # It tried again each time before giving up: each time on the case it kept, then on
    # the case as stored.
    assert busy.rival_saves == 2 * RETRIES
    timeline = world.b.timeline(referral.case_id)
    assert [e.hash for e in timeline if e.received] == received_before
    assert [e.type for e in timeline][-2 * RETRIES:] == ["RiskAssessed"] * (2 * RETRIES)
    admission.apply(fact)  # once the case is quiet, the same message is recorded
    assert world.b.timeline(referral.case_id)[-1].type == "ReferralSent"
    busy.close()


@pytest.mark.parametrize("note", ["Okafor lives at 12 Harbour Road. " * 200,
                                  {"family_name": "Okafor"}, ["Okafor"], 7],
                         ids=["too-long", "object", "list", "number"])
def test_a_refusal_names_the_field_and_the_rule_never_the_value(world: World, note: Any) -> None:
    referral = world.refer()
    for message in referral.messages[:2]:
        world.admit(message)
    sent = referral.messages[2]
    bad = signed(sent, KEYS[XA], payload={**sent["payload"], "note": note})

    with pytest.raises(Rejected) as refusal:
        world.admit(bad)
    assert refusal.value.code == "schema"
    assert refusal.value.reason.startswith("schema: payload.note: invalid value (")
    assert "Okafor" not in refusal.value.reason and "7" not in refusal.value.reason


def test_a_message_carries_its_senders_checkpoint_which_is_kept_once_recorded(
        world: World, tmp_path: Path) -> None:
    from services.anchors.store import Anchors
    from services.backends.sqlite import SQLiteTables

    referral = world.refer()
    anchors = Anchors(SQLiteTables(tmp_path / "b-tables.sqlite"))
    admission = Admission(world.b, KEYS[XB].sealing, world.directory, anchors)
    for message in referral.messages:
        world.admit(message, admission)
    held = anchors.of_case(referral.case_id)
    assert [(c.agency, c.version, c.message.sequence if c.message else None) for c in held] == [
        (XA, 1, 1), (XA, 2, 2), (XA, 3, 3)]
    stream = world.b.timeline(referral.case_id)
    assert [c.message.hash for c in held if c.message] == [
        e.received["sender_hash"] for e in stream if e.received]
    anchors.db.close()


@pytest.mark.parametrize("change", ["hash", "sequence", "signature"])
def test_a_checkpoint_that_is_not_the_senders_of_this_message_is_refused(
        world: World, change: str) -> None:
    referral = world.refer()
    world.admit(referral.messages[0])
    message = referral.messages[1]
    checkpoint = dict(message["checkpoint"])
    if change == "hash":  # re-signed by the sender over another head: the signature fails
        checkpoint["hash"] = "ab" * 32
    elif change == "sequence":
        checkpoint["message"] = {**checkpoint["message"], "sequence": 7}
    else:
        checkpoint["signature"] = referral.messages[2]["checkpoint"]["signature"]
    altered = sealed(sign({**message, "checkpoint": checkpoint}, KEYS[XA]))
    assert world.refused(altered, referral.case_id) == "bad-checkpoint"
