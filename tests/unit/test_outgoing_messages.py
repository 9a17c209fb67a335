"""The messages a case's events make, with no broker and no store: the referring agency's
case is driven through the domain (`Story`), and its stream is the case's own events."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any
from uuid import UUID

import pytest

from events.case import Case, CaseEvent
from events.chain import GENESIS
from services.anchors.checkpoint import Checkpoint
from services.contract.codec import MONITOR, signature_valid
from services.contract.registry import parse_schema_name
from services.exchange import outgoing as outgoing_module
from services.exchange import topics
from services.exchange.directory import Directory
from services.exchange.outgoing import Messages, Outgoing, Stream, Unencodable
from services.exchange.pseudonyms import NoSealingKey, Pseudonyms
from services.signing import SigningKey
from tests.harness.builders import XA, XB, Story

KEY, PARTNER = SigningKey.generate(XA), SigningKey.generate(XB)
TRUST = Directory().with_agency(KEY).with_agency(PARTNER).with_corridor(XA, XB)
BEFORE_REFERRAL = [(XA, "consent")]
REFERRED = [*BEFORE_REFERRAL, (XA, "referral"), (XB, "acknowledgement"), (XB, "acceptance"),
            (XA, "identity-verification-request")]


def stream_of(case: Case) -> Stream:
    """The case's events in order, up to a version, as the node's store gives them."""
    def stream(case_id: UUID, last: int | None) -> list[object]:
        assert case_id == case.id
        return [e for e in case.pending_events if last is None or e.originator_version <= last]
    return stream


def events_of(case: Case) -> list[CaseEvent]:
    return [e for e in case.pending_events if isinstance(e, CaseEvent)]


def making(story: Story, trust: Directory = TRUST, cache_size: int = 10_000) -> Messages:
    return Messages(KEY, Pseudonyms(KEY.sealing, lambda: trust), stream_of(story.xa),
                    cache_size)


def all_made(messages: Messages, events: list[CaseEvent]) -> list[Outgoing]:
    return [m for event in events for m in messages.after(event)]


def partner(made: list[Outgoing]) -> list[dict[str, Any]]:
    return [m.envelope for m in made if m.to_partner]


def chained(envelopes: list[dict[str, Any]]) -> bool:
    """Sequences 1, 2, ... each carrying the digest of the one before."""
    previous = [GENESIS] + [e["integrity"]["hash"] for e in envelopes[:-1]]
    return ([e["sequence"] for e in envelopes] == list(range(1, len(envelopes) + 1))
            and [e["integrity"]["prev_hash"] for e in envelopes] == previous)


def test_a_case_reaches_the_partner_with_its_referral_preceded_by_all_before_it() -> None:
    story = Story()
    story.run(BEFORE_REFERRAL)
    messages = making(story)
    before = all_made(messages, events_of(story.xa))
    assert partner(before) == []  # opened and consented: the partner knows nothing yet
    story.run([(XA, "referral")])
    referral = messages.after(events_of(story.xa)[-1])
    sent = partner(referral)
    assert [parse_schema_name(e["schema"])[0] for e in sent] == [
        "case-opened", "consent-recorded", "referral-sent"]
    assert chained(sent) and {e["recipient"] for e in sent} == {XB}
    ref = str(Pseudonyms(KEY.sealing, lambda: TRUST).case_ref(XA, XB, story.xa.id))
    assert {(m.topic, m.case_ref) for m in referral if m.to_partner} == {(topics.inbox(XB), ref)}
    for envelope in sent:  # signed, and anchored in the node's checkpoint of its stream
        assert signature_valid(envelope, KEY.public)
        carried = Checkpoint.of(envelope["checkpoint"])
        assert carried.agency == XA and carried.message is not None
        assert carried.message.sequence == envelope["sequence"]
        # What is signed and sent is every field but `receipt`, and reads back the same.
        assert carried.document() == envelope["checkpoint"]
        assert set(carried.document()) == {f.name for f in fields(Checkpoint)} - {"receipt"}
        assert carried.valid(lambda agency, key_id: KEY.public)
        alone = replace(carried, message=None)
        assert Checkpoint.of(alone.document()) == alone and "message" not in alone.document()


def test_facts_received_from_the_partner_make_no_message() -> None:
    story = Story()
    story.run(REFERRED)
    messages = making(story)
    for event in events_of(story.xa):
        made = messages.after(event)
        if event.received is not None:
            assert made == []
    assert all_made(making(story), events_of(story.xa)) != []


def test_milestones_go_to_the_monitor_at_once_on_a_chain_of_their_own() -> None:
    story = Story()
    story.run(BEFORE_REFERRAL)  # consent to monitoring given: milestones leave before referral
    made = all_made(making(story), events_of(story.xa))
    milestones = [m for m in made if not m.to_partner]
    assert [m.topic for m in milestones] == [topics.MONITORING]  # the consent; none before it
    alias = str(Pseudonyms(KEY.sealing, lambda: TRUST).monitoring(XA, XB, story.xa.id))
    story.run(REFERRED[1:])
    made = all_made(making(story), events_of(story.xa))
    monitored = [m.envelope for m in made if not m.to_partner]
    assert chained(monitored) and chained(partner(made))
    assert {(e["recipient"], e["case_id"]) for e in monitored} == {(MONITOR, alias)}
    assert str(story.xa.id) not in str(monitored)


def test_a_case_read_again_from_its_stream_makes_the_same_messages() -> None:
    story = Story()
    story.run(REFERRED)
    events = events_of(story.xa)
    followed = all_made(making(story), events)
    # Kept for no case: each event reads its case again from the stream.
    assert all_made(making(story, cache_size=0), events) == followed
    forgetting, made = making(story), []
    for event in events:
        made += forgetting.after(event)
        forgetting.forget()
    assert made == followed


def test_a_case_made_again_gives_the_partner_messages_as_first_made() -> None:
    story = Story()
    story.run(REFERRED)
    first = all_made(making(story), events_of(story.xa))
    assert [m for m in first if m.to_partner] == making(story).of_case(story.xa.id)


def test_an_event_that_cannot_become_a_message_holds_back_the_rest_of_its_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    story = Story()
    story.run(REFERRED)
    real = outgoing_module.to_envelope

    def failing(case: Any, event: Any, sequence: int, *rest: Any) -> dict[str, Any]:
        if sequence == 3:  # e.g. a payload the contract no longer takes
            raise ValueError("Maria Elena does not fit the schema")
        return real(case, event, sequence, *rest)

    monkeypatch.setattr(outgoing_module, "to_envelope", failing)
    messages, reasons, made = making(story), [], []
    for event in events_of(story.xa):
        try:
            made += messages.after(event)
        except Unencodable as poison:
            reasons.append(str(poison))
    assert partner(made) == []  # the referral was the poison: its case waits with it
    assert reasons[0] == "ValueError while encoding" and "Maria" not in " ".join(reasons)
    assert set(reasons[1:]) == {"an earlier event of its case could not be sent"}
    assert len(reasons) == 2  # the referral and the identity verification request
    assert making(story).of_case(story.xa.id) == []
    # Read again from its stream, the case is still held.
    with pytest.raises(Unencodable, match="an earlier event"):
        making(story, cache_size=0).after(events_of(story.xa)[-1])


def test_without_the_partners_sealing_key_nothing_is_made_and_nothing_is_lost() -> None:
    story = Story()
    story.run(REFERRED)
    unlisted = Directory().with_agency(KEY).with_corridor(XA, XB)
    trust = {"now": unlisted}
    messages = Messages(KEY, Pseudonyms(KEY.sealing, lambda: trust["now"]),
                        stream_of(story.xa))
    first = events_of(story.xa)[0]
    with pytest.raises(NoSealingKey):
        messages.after(first)
    trust["now"] = TRUST  # the directory lists it now: the case is made, whole, not poisoned
    messages.forget()  # as the relay does after a failed batch
    assert all_made(messages, events_of(story.xa)) == all_made(making(story),
                                                                events_of(story.xa))
