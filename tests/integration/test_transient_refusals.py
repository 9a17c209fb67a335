"""Refusals that may pass are not final: a directory file half written, a key the directory
does not list yet, a case whose opening has not come. Each message is read again, with
backoff, kept and never dead-lettered; once the cause passes, every fact reaches the
partner exactly once and is receipted. And the inbox holds only so much in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.exchange.directory import DirectoryFile, load
from services.exchange.inbox import HoldingLimits, ParkingLimits
from services.exchange.relay import Relay
from services.network.demo_cases import repatriation
from tests.harness.exchange_nodes import (
    Node,
    alone_moves,
    dead_letters,
    delivered_once,
    open_case,
    referred_alone,
    referring_moves,
    sending,
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

    delivered_once(a, b, case_id)


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
    since = datetime.now(UTC) + timedelta(seconds=4)
    rotated = a.list_new_signing_key(datetime.now(UTC) + timedelta(hours=1), since)
    a.replace_relay(Relay(a.app, rotated, a.new_producer, DirectoryFile(a.directory_path).current,
                          deliveries=a.deliveries(), resending=a.resending))
    for move in moves[2:4]:
        a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
    assert b.inbox is not None
    inbox = b.inbox
    wait_until(lambda: inbox.retrying is not None and "not-yet-valid" in inbox.retrying)

    delivered_once(a, b, case_id)
    listed = load(a.directory_path).agencies[a.agency].signing_keys
    assert {k.key_id for k in listed} == {a.key.key_id, rotated.key_id}


def test_a_message_of_a_case_not_known_yet_waits_for_its_opening(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id, (first, second, third, *_) = referred_alone(a, b)
    inbox = b.start_inbox()
    with sending(a, b) as post:
        post.sealed(third)
        post.sealed(second)
        wait_until(lambda: len(inbox.held) == 2)  # held, not refused: the case is unknown
        post.sealed(first)
    expected = [env["integrity"]["hash"] for env in (first, second, third)]
    wait_until(lambda: b.received_hashes(case_id) == expected)
    assert inbox.held == {} and inbox.dead == 0 and dead_letters(b, expected=0) == []


def test_a_message_whose_case_never_opens_is_dead_lettered_in_the_end(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    _, sent = referred_alone(a, b)
    third = sent[2]
    inbox = b.start_inbox(unknown_case_wait=1.0)
    with sending(a, b) as post:
        post.sealed(third)
    [(reason, _)] = dead_letters(b, expected=1, within=30)
    assert reason.startswith("case-not-found: no opening within")
    assert inbox.held == {}


def test_past_its_bound_the_inbox_pauses_and_the_sender_brings_the_rest_again(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id, sent = referred_alone(a, b)
    inbox = b.start_inbox(bound=HoldingLimits(per_case=2, total=100))
    with sending(a, b) as post:
        for envelope in [sent[0], *sent[3:7]]:  # 4 ahead of their predecessors
            post.sealed(envelope)
        wait_until(lambda: inbox.paused, timeout=30)
        assert len(inbox.held) == 2 and "paused" in (inbox.trouble() or "")
        for envelope in sent[1:3]:
            post.sealed(envelope)
    wait_until(lambda: not inbox.paused, timeout=30)
    a.start_inbox()
    a.start_relay()  # what the inbox could not hold comes again until receipted
    delivered_once(a, b, case_id)


def test_a_message_under_a_key_listed_from_later_is_set_aside_the_rest_read_on_and_in_the_end_dead_lettered(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id, (first, second, *_) = referred_alone(a, b)
    later = datetime.now(UTC) + timedelta(hours=1)
    early = a.list_new_signing_key(later, since=later)
    inbox = b.start_inbox(parked_patience=3.0)
    with sending(a, b) as post:
        post.sealed(second, early)
        post.sealed(first)  # read on: not held up behind the other
    wait_until(lambda: b.received_hashes(case_id) == [first["integrity"]["hash"]])
    assert "not-yet-valid" in (inbox.trouble() or "")
    [(reason, _)] = dead_letters(b, expected=1, within=30)
    assert reason.startswith("not-yet-valid") and "still after 3 s" in reason
    assert inbox.parked == {}


def test_a_message_under_a_key_never_listed_is_dead_lettered_at_once_and_the_rest_read_on(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    case_id, (first, second, *_) = referred_alone(a, b)
    unlisted = a.new_signing_key()
    inbox = b.start_inbox()
    with sending(a, b) as post:
        post.sealed(second, unlisted)
        post.sealed(first)
    wait_until(lambda: b.received_hashes(case_id) == [first["integrity"]["hash"]])
    [(reason, letter)] = dead_letters(b, expected=1, within=10)
    assert reason.startswith("unknown-key: the trust directory lists no key")
    assert letter.value  # sealed: kept for an operator to replay once the key is listed
    assert inbox.parked == {} and inbox.retrying is None


def test_past_the_parked_bound_a_message_of_the_same_sender_is_dead_lettered_and_readyz_says_so(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    _, sent = referred_alone(a, b)
    later = datetime.now(UTC) + timedelta(hours=1)
    early = a.list_new_signing_key(later, since=later)
    inbox = b.start_inbox(parked_bound=ParkingLimits(per_sender=2, total=100))
    with sending(a, b) as post:
        for envelope in sent[:3]:
            post.sealed(envelope, early)
    [(reason, _)] = dead_letters(b, expected=1, within=30)
    assert reason.startswith("not-yet-valid") and "2 messages of" in reason and "the bound" in reason
    assert len(inbox.parked) == 2
    assert "at the bound" in (inbox.trouble() or "")
