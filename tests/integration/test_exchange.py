"""Two agency nodes over a real broker: every fact reaches the partner, once, in order,
through crashes and outages; every bad message ends in the dead-letter topic."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.cipher import AESCipher
from kafka import KafkaConsumer, TopicPartition

from events.values import Actor, Side
from services.backends.kafka import Kafka
from services.contract.codec import decode, encode, sign
from services.exchange import partitions as partitions_module
from services.exchange import topics
from services.exchange.directory import DirectoryFile, publish, save
from services.exchange.inbox import Fact, Inbox
from services.exchange.relay import Relay
from services.exchange.sealing import open_sealed
from services.network.demo_cases import PERSON, repatriation
from services.signing import SealingKey, SigningKey
from tests.harness.exchange_nodes import (
    Node,
    accepted_minor,
    agency_code,
    alone,
    dead_letters,
    exchanging,
    monitor_key,
    open_case,
    pair_on_own_broker,
    play,
    referred_alone,
    sending,
    wait_until,
)
from tests.harness.walks import actor

pytestmark = pytest.mark.kafka
PROPAGATION_LIMIT = 2.0


def test_a_whole_repatriation_reaches_the_partner_step_by_step(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    story, case_id = exchanging(a, b)
    latencies = play(nodes, story.moves, case_id)

    assert len(latencies) == len(story.moves) - 1  # all but the consent before the referral
    print("propagation", sorted(round(x, 3) for x in latencies))
    assert max(latencies) < PROPAGATION_LIMIT, latencies
    # Both streams hold the same facts: each side's own events, as the partner received them.
    assert b.received_hashes(case_id) == a.own_hashes(case_id)
    assert a.received_hashes(case_id) == b.own_hashes(case_id)
    mine = [(e.type, e.recorded_by) for e in a.app.timeline(case_id)]
    theirs = [(e.type, e.recorded_by) for e in b.app.timeline(case_id)]
    assert mine == theirs
    assert a.app.verify(case_id) == [] and b.app.verify(case_id) == []
    assert b.app.case(case_id).state.person == a.app.case(case_id).state.person
    assert a.inbox is not None and b.inbox is not None
    assert (a.inbox.dead, b.inbox.dead) == (0, 0)
    # The monitor hears of the case under a pseudonym, from both agencies, without the person.
    assert a.relay is not None and b.relay is not None
    alias = a.relay.pseudonyms.monitoring(a.agency, b.agency, case_id)
    assert alias == b.relay.pseudonyms.monitoring(a.agency, b.agency, case_id) != case_id
    milestones = monitoring(a.bootstrap, alias, monitor_key(a))
    senders = {m["sender"] for m in milestones}
    assert senders == {a.agency, b.agency}
    assert all(m["case_id"] == str(alias) for m in milestones)
    assert not any(PERSON["family_name"] in json.dumps(m) for m in milestones)
    kinds = [m["payload"]["milestone"] for m in milestones]
    assert "case-opened" not in kinds  # no consent to monitoring yet when it was opened
    assert "referral-sent" in kinds and "arrival-confirmed" in kinds and "follow-up-recorded" in kinds
    # Consent to monitoring was withdrawn before the closure: from then on, nothing.
    assert not {"consent-withdrawn", "case-closed", "case-reopened"} & set(kinds)


def monitoring(bootstrap: str, alias: UUID, key: SealingKey) -> list[dict[str, Any]]:
    """The milestones of a case on the monitoring topic, opened with the monitor's key."""
    reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(topics.MONITORING, p)
                  for p in reader.partitions_for_topic(topics.MONITORING) or {0}]
    reader.assign(partitions)
    reader.seek_to_beginning(*partitions)
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            batches = reader.poll(timeout_ms=500)
            if not batches and found:
                break  # everything there was has been read
            found += [open_sealed(decode(r.value), key) for batch in batches.values()
                      for r in batch if r.key == str(alias).encode()]
    finally:
        reader.close()
    return found


# -- crashes and outages ------------------------------------------------------


class Crash(BaseException):
    """The process dies here: nothing after it runs, nothing is committed."""


def referred_cases(node: Node, partner: Node, count: int) -> list[UUID]:
    """Cases the referring node takes as far as it can alone: 5 messages each."""
    story = repatriation(datetime.now(UTC).date(), receiving=partner.agency)
    alone = [m for m in story.moves if m.side is Side.REFERRING][:5]
    assert [m.path for m in alone[:2]] == ["consent", "referral"]
    cases = []
    for _ in range(count):
        case_id = open_case(node, partner, story.opening)
        for move in alone:
            if move.path in ("return-decision", "best-interests-determination"):
                continue  # these wait for the acceptance
            node.app.record(case_id, move.path, move.body, actor(move, node.agency, partner.agency))
        cases.append(case_id)
    return cases


def complete(sender: Node, receiver: Node, cases: list[UUID]) -> bool:
    return all(receiver.received_hashes(c) == sender.own_hashes(c) for c in cases)


def test_an_inbox_killed_mid_stream_loses_nothing_and_applies_nothing_twice(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    cases = referred_cases(a, b, count=8)
    relay = a.start_relay()
    wait_until(lambda: relay.lag() == 0)

    class Dying(Inbox):
        def apply(self, fact: Fact) -> None:
            if self.applied == 17:
                raise Crash
            super().apply(fact)

    topics.ensure_topics(Kafka(b.bootstrap).admin, [topics.inbox(b.agency), topics.deadletter(b.agency)])
    dying = Dying(b.app, b.key.sealing, DirectoryFile(b.directory_path).current,
                  b.new_consumer, b.new_producer)
    with pytest.raises(Crash):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            dying.poll_once()
    dying.close(commit=False)
    applied_before = sum(len(b.received_hashes(c)) for c in cases)
    assert applied_before == 17 and not complete(a, b, cases)

    inbox = b.start_inbox()
    wait_until(lambda: complete(a, b, cases), timeout=20)
    # (counted just after the store has the fact)
    wait_until(lambda: inbox.applied >= sum(len(a.own_hashes(c)) for c in cases) - 17)
    assert inbox.applied == sum(len(a.own_hashes(c)) for c in cases) - 17
    # Redelivered messages are recognised and skipped: a duplicate is no dead letter.
    assert inbox.dead == 0 and dead_letters(b, expected=0) == []


def test_a_relay_that_dies_before_recording_its_position_sends_again_and_the_partner_records_once(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    cases = referred_cases(a, b, count=2)
    inbox = b.start_inbox()

    class Dying(Relay):
        def relay_once(self) -> int:
            self.publish(self.messages(list(self.app.recorder.select_notifications(1, 1000))))
            raise Crash  # acknowledged by the broker, but the position is never recorded

    with pytest.raises(Crash):
        Dying(a.app, a.key, a.new_producer, DirectoryFile(a.directory_path).current).relay_once()
    wait_until(lambda: complete(a, b, cases))
    relay = a.start_relay()  # the restarted node starts from the last recorded position: 0
    sent = sum(len(a.own_hashes(c)) for c in cases)
    # Each is recognised (and, with no receipt yet, may come again): never applied twice.
    wait_until(lambda: relay.lag() == 0 and inbox.duplicates >= sent)
    assert complete(a, b, cases) and inbox.applied == sent
    assert inbox.dead == 0 and dead_letters(b, expected=0) == []  # recognised, not refused


def test_a_steady_exchange_keeps_its_inbox_in_the_group(
    nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inbox rejoins its group only when its broker lost the log. The local broker
    answers ListOffsets with less than the log's end once batches of several messages
    came: a steady exchange must not look like a lost log (a rejoin costs seconds)."""
    monkeypatch.setattr(partitions_module, "POSITION_CHECK_SECONDS", 0.3)
    a, b = nodes
    for node in nodes:
        node.start_inbox()
    story = repatriation(datetime.now(UTC).date(), receiving=b.agency, minor=True)
    case_id = open_case(a, b, story.opening)
    assert story.moves[2].path == "referral"
    for move in story.moves[:3]:  # recorded before the relay runs: they leave together
        a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
    for node in nodes:
        node.start_relay()
    wait_until(lambda: b.received_hashes(case_id) == a.own_hashes(case_id))
    for move in story.moves[3:9]:  # more batches, each followed by a quiet spell of checks
        play(nodes, [move], case_id)
        time.sleep(0.8)
    assert a.inbox is not None and b.inbox is not None
    assert (a.inbox.rejoins, b.inbox.rejoins) == (0, 0)
    assert b.received_hashes(case_id) == a.own_hashes(case_id)
    assert a.received_hashes(case_id) == b.own_hashes(case_id)


def test_a_broker_outage_delays_the_partner_but_loses_nothing(tmp_path: Path) -> None:
    with pair_on_own_broker(tmp_path) as (broker, a, b):
        story, case_id = accepted_minor(a, b)

        broker.stop()
        during = [m for m in story.moves[7:12] if m.side is Side.REFERRING]
        for move in during:  # the referring agency keeps working without the broker
            a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
        time.sleep(1.0)
        assert a.relay is not None and a.relay.lag() > 0
        broker.start()
        topics.ensure_topics(Kafka(broker.bootstrap).admin, [topics.inbox(a.agency), topics.inbox(b.agency)])

        # The local broker keeps topics in memory: after its restart the clients find new,
        # empty topics and rejoin their groups, which takes tens of seconds on a busy machine.
        wait_until(lambda: b.received_hashes(case_id) == a.own_hashes(case_id), timeout=150)
        assert a.relay.lag() == 0
        assert [e.type for e in b.received(case_id)][-len(during):] == [
            "RiskAssessed", "ReturnDecisionRecorded", "BestInterestsDetermined"]


# -- bad messages -------------------------------------------------------------


def test_each_bad_message_is_dead_lettered_and_the_next_good_one_applied(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id, good = referred_alone(a, b)
    assert len(good) == 8
    stranger = SigningKey.generate(agency_code("XC"))
    acknowledgement = {"contact": {"name": "N", "email": "n@x.example"},
                       "deputy": {"name": "D", "email": "d@x.example"}}

    def resigned(env: dict[str, Any], key: SigningKey = a.key, **changes: Any) -> bytes:
        return a.sealed(sign({**env, **changes}, key), b, key)

    def tampered(value: bytes, **changes: Any) -> bytes:
        return encode({**decode(value), **changes})

    poisons: list[tuple[str, Callable[[dict[str, Any]], bytes]]] = [
        ("not-json", lambda nxt: b"{this is not json"),
        ("schema", lambda nxt: resigned(nxt, payload={**nxt["payload"], "unknown": 1})),
        # Changed after signing: the signature no longer covers what arrives.
        ("bad-signature", lambda nxt: tampered(a.sealed(nxt, b),
                                               occurred_at="2020-01-01T00:00:00Z")),
        ("unknown-sender", lambda nxt: resigned(nxt, stranger, sender=stranger.agency)),
        ("step-owner", lambda nxt: resigned(nxt, schema="homeward.referral-acknowledged.v1",
                                            payload=acknowledgement,
                                            message_id=str(uuid.uuid4()))),
        ("duplicate", lambda nxt: a.sealed(good[1], b)),
        ("case-not-found", lambda nxt: resigned(nxt, case_id=str(uuid.uuid4()))),
    ]
    inbox = b.start_inbox()
    offsets = []
    with sending(a, b) as post:
        post.sealed(good[0])
        for (_, poison), nxt in zip(poisons, good[1:], strict=True):
            if _ == "duplicate":
                wait_until(lambda: len(b.received_hashes(case_id)) >= 2)
            offsets.append(post.raw(poison(nxt)))
            post.sealed(nxt)

    wait_until(lambda: b.received_hashes(case_id) == a.own_hashes(case_id))
    # A duplicate is skipped, not dead-lettered; a message of a case not known here is held
    # while its opening may still come (cross-border.md, "Transient is not final").
    refused = [(code, offset) for (code, _), offset in zip(poisons, offsets, strict=True)
               if code not in ("duplicate", "case-not-found")]
    letters = dead_letters(b, expected=len(refused))
    assert [reason.split(":")[0] for reason, _ in letters] == [code for code, _ in refused]
    for (_, record), (_, offset) in zip(letters, refused, strict=True):
        headers = dict(record.headers)
        assert headers["source-topic"] == topics.inbox(b.agency).encode()
        assert headers["source-offset"] == str(offset).encode()
        # A dead letter keeps a sealed message as it came, and nothing of anything else.
        assert record.value == b"" or decode(record.value)["envelope"] == "homeward.envelope.v2"
    assert letters[0][1].value == b""  # not JSON: it could have held anything
    assert inbox.applied == len(good) and inbox.duplicates == 1
    [(unknown_case, _, _)] = inbox.held
    assert unknown_case != case_id


def test_a_message_ahead_of_its_predecessor_waits_for_it_even_across_a_restart(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id, (first, second, third, *_) = referred_alone(a, b)
    inbox = b.start_inbox()
    with sending(a, b) as post:
        post.sealed(first)
        post.sealed(third)
        wait_until(lambda: len(inbox.held) == 1)
        assert b.received_hashes(case_id) == [first["integrity"]["hash"]]
        b.stop("inbox")  # a held message is not committed: the restarted inbox reads it again
        inbox = b.start_inbox()
        post.sealed(second)
    expected = [env["integrity"]["hash"] for env in (first, second, third)]
    wait_until(lambda: b.received_hashes(case_id) == expected)
    assert [e.received["sequence"] for e in b.received(case_id)] == [1, 2, 3]  # type: ignore[index]
    assert inbox.held == {} and inbox.dead == 0


@pytest.mark.postgres
def test_the_relay_keeps_its_position_in_a_postgres_store_too(
    pg_env: dict[str, str], kafka_bootstrap: str, tmp_path: Path,
) -> None:
    env = {**pg_env, "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
           "CIPHER_KEY": AESCipher.create_key(num_bytes=32)}
    a = Node(agency_code("XA"), tmp_path / "a", kafka_bootstrap, tmp_path / "d.json", env=env)
    b = Node(agency_code("XB"), tmp_path / "b", kafka_bootstrap, tmp_path / "d.json")
    try:
        case_id = alone(a, b)
        publish(tmp_path / "d.json", a.key)
        save(tmp_path / "d.json", publish(tmp_path / "d.json", b.key).with_corridor(a.agency, b.agency))
        trust = DirectoryFile(tmp_path / "d.json").current
        first = Relay(a.app, a.key, a.new_producer, trust)
        while first.relay_once():
            pass
        first.close()
        assert first.position() == a.app.recorder.max_notification_id()
        again = Relay(a.app, a.key, a.new_producer, trust)  # a restarted node
        assert again.position() == first.position() and again.relay_once() == 0
        a.app.record(case_id, "consent", {"scopes": ["refer"], "language": "en",
                                          "interpreter": False, "given_by": "person"},
                     Actor(a.agency, "worker"))
        assert again.lag() == 1 and again.relay_once() == 1 and again.lag() == 0
        again.close()
    finally:
        a.close()
        b.close()
