"""Refusals that may pass are not final: a directory file half written, a key the directory
does not list yet, a case whose opening has not come. Each message is read again, with
backoff, kept and never dead-lettered; once the cause passes, every fact reaches the
partner exactly once and is receipted. And the inbox holds only so much in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.contract.codec import sign
from services.exchange.directory import DirectoryFile, load, save
from services.exchange.inbox import HoldingLimits, ParkingLimits
from services.exchange.relay import Relay
from services.network.demo_cases import repatriation
from services.signing import SigningKey
from tests.harness.exchange_nodes import (
    Node,
    alone,
    alone_moves,
    dead_letters,
    envelopes,
    exactly_once,
    open_case,
    producing,
    receipted_as_recorded,
    referring_moves,
    send,
    wait_until,
)
from tests.harness.walks import actor

pytestmark = pytest.mark.kafka


def test_a_directory_replaced_by_a_half_written_file_delays_but_refuses_nothing(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    a.start_inbox()
    relay = a.start_relay()
    case_id = referring_moves(a, b, 4)
    wait_until(lambda: relay.lag() == 0)  # on the broker, not read yet

    whole = a.directory_path.read_bytes()
    a.directory_path.write_bytes(whole[: len(whole) // 2])  # a copy caught mid-way
    inbox = b.start_inbox()
    wait_until(lambda: inbox.retrying is not None and "directory" in inbox.retrying)
    assert "read again" in (inbox.trouble() or "")
    assert b.received_hashes(case_id) == []
    a.directory_path.write_bytes(whole)

    wait_until(lambda: exactly_once(a, b, case_id) and receipted_as_recorded(a, b, case_id),
               timeout=60)
    assert inbox.dead == 0 and dead_letters(b, expected=0) == []


def test_a_key_rotated_during_traffic_loses_nothing(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    b.start_inbox()
    a.start_inbox()
    a.start_relay()
    story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
    case_id = open_case(a, b, story.opening)
    moves = alone_moves(a, b)
    for move in moves[:2]:
        a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))

    # The directory lists the new key from a few seconds on; the old one stays valid for
    # what is in flight. The agency signs with its new key early: its messages wait.
    rotated = SigningKey(a.agency, Ed25519PrivateKey.generate(), a.key.sealing)
    since = datetime.now(UTC) + timedelta(seconds=4)
    later = datetime.now(UTC) + timedelta(hours=1)
    save(a.directory_path, load(a.directory_path).with_rotated_key(rotated, later, since))
    a.stop("relay")
    relay = Relay(a.app, rotated, a.new_producer, DirectoryFile(a.directory_path).current,
                  deliveries=a.deliveries(), resending=a.resending)
    a._start("relay", relay.run)
    for move in moves[2:4]:
        a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
    assert b.inbox is not None
    inbox = b.inbox
    wait_until(lambda: inbox.retrying is not None and "not-yet-valid" in inbox.retrying)

    wait_until(lambda: exactly_once(a, b, case_id) and receipted_as_recorded(a, b, case_id),
               timeout=60)
    assert inbox.dead == 0 and dead_letters(b, expected=0) == []
    listed = load(a.directory_path).agencies[a.agency].signing_keys
    assert {k.key_id for k in listed} == {a.key.key_id, rotated.key_id}


def test_a_message_of_a_case_not_known_yet_waits_for_its_opening(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id = alone(a, b)
    first, second, third = envelopes(a, b)[:3]
    inbox = b.start_inbox()
    with producing(b) as producer:
        send(producer, b, a.sealed(third, b))
        send(producer, b, a.sealed(second, b))
        wait_until(lambda: len(inbox.held) == 2)  # held, not refused: the case is unknown
        send(producer, b, a.sealed(first, b))
    expected = [env["integrity"]["hash"] for env in (first, second, third)]
    wait_until(lambda: b.received_hashes(case_id) == expected)
    assert inbox.held == {} and inbox.dead == 0 and dead_letters(b, expected=0) == []


def test_a_message_whose_case_never_opens_is_dead_lettered_in_the_end(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    alone(a, b)
    third = envelopes(a, b)[2]
    inbox = b.start_inbox()
    inbox.unknown_case_wait = 1.0
    with producing(b) as producer:
        send(producer, b, a.sealed(third, b))
    [(reason, _)] = dead_letters(b, expected=1, within=30)
    assert reason.startswith("case-not-found: no opening within")
    assert inbox.held == {}


def test_past_its_bound_the_inbox_pauses_and_the_sender_brings_the_rest_again(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id = alone(a, b)
    sent = envelopes(a, b)
    b.start_inbox()
    assert b.inbox is not None
    b.stop("inbox")
    b.inbox.bound = HoldingLimits(per_case=2, total=100)
    inbox = b.inbox
    b._start("inbox", inbox.run)
    with producing(b) as producer:
        for envelope in [sent[0], *sent[3:7]]:  # 4 ahead of their predecessors
            send(producer, b, a.sealed(envelope, b))
        wait_until(lambda: inbox.paused, timeout=30)
        assert len(inbox.held) == 2 and "paused" in (inbox.trouble() or "")
        for envelope in sent[1:3]:
            send(producer, b, a.sealed(envelope, b))
    wait_until(lambda: not inbox.paused, timeout=30)
    a.start_inbox()
    a.start_relay()  # what the inbox could not hold comes again until receipted
    wait_until(lambda: exactly_once(a, b, case_id) and receipted_as_recorded(a, b, case_id),
               timeout=60)
    assert inbox.dead == 0 and dead_letters(b, expected=0) == []


def test_a_message_under_a_key_listed_from_later_is_set_aside_the_rest_read_on_and_in_the_end_dead_lettered(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id = alone(a, b)
    first, second = envelopes(a, b)[:2]
    early = SigningKey(a.agency, Ed25519PrivateKey.generate(), a.key.sealing)
    later = datetime.now(UTC) + timedelta(hours=1)
    save(a.directory_path, load(a.directory_path).with_rotated_key(early, later, later))
    inbox = b.start_inbox()
    inbox.parked_patience = 3.0
    with producing(b) as producer:
        send(producer, b, a.sealed(sign(second, early), b, early))
        send(producer, b, a.sealed(first, b))  # read on: not held up behind the other
    wait_until(lambda: b.received_hashes(case_id) == [first["integrity"]["hash"]])
    assert "not-yet-valid" in (inbox.trouble() or "")
    [(reason, _)] = dead_letters(b, expected=1, within=30)
    assert reason.startswith("not-yet-valid") and "still after 3 s" in reason
    assert inbox.parked == {}


def test_a_message_under_a_key_never_listed_is_dead_lettered_at_once_and_the_rest_read_on(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id = alone(a, b)
    first, second = envelopes(a, b)[:2]
    unlisted = SigningKey(a.agency, Ed25519PrivateKey.generate(), a.key.sealing)
    inbox = b.start_inbox()
    with producing(b) as producer:
        send(producer, b, a.sealed(sign(second, unlisted), b, unlisted))
        send(producer, b, a.sealed(first, b))
    wait_until(lambda: b.received_hashes(case_id) == [first["integrity"]["hash"]])
    [(reason, letter)] = dead_letters(b, expected=1, within=10)
    assert reason.startswith("unknown-key: the trust directory lists no key")
    assert letter.value  # sealed: kept for an operator to replay once the key is listed
    assert inbox.parked == {} and inbox.retrying is None


def test_past_the_parked_bound_a_message_of_the_same_sender_is_dead_lettered_and_readyz_says_so(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    alone(a, b)
    sent = envelopes(a, b)
    early = SigningKey(a.agency, Ed25519PrivateKey.generate(), a.key.sealing)
    later = datetime.now(UTC) + timedelta(hours=1)
    save(a.directory_path, load(a.directory_path).with_rotated_key(early, later, later))
    b.start_inbox()
    assert b.inbox is not None
    b.stop("inbox")
    inbox = b.inbox
    inbox.parked_bound = ParkingLimits(per_sender=2, total=100)
    b._start("inbox", inbox.run)
    with producing(b) as producer:
        for envelope in sent[:3]:
            send(producer, b, a.sealed(sign(envelope, early), b, early))
    [(reason, _)] = dead_letters(b, expected=1, within=30)
    assert reason.startswith("not-yet-valid") and "2 messages of" in reason and "the bound" in reason
    assert len(inbox.parked) == 2
    assert "at the bound" in (inbox.trouble() or "")
