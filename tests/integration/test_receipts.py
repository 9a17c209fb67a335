"""Signed receipts over a real broker: every fact a partner records is receipted with its
hash of the fact, and a message without a receipt is sent again until one comes, so a
broker that lost messages or a partner away for long loses nothing and applies nothing
twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from events.values import Side
from tests.harness.exchange_nodes import (
    Node,
    accepted_minor,
    delivered_once,
    pair_on_own_broker,
    played,
    receipted_as_recorded,
    referring_moves,
    restarted,
    wait_until,
)
from tests.harness.walks import actor

pytestmark = pytest.mark.kafka


def test_every_message_recorded_is_receipted_with_the_receivers_hash_of_its_fact(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    _, case_id = played(nodes, 10)
    wait_until(lambda: receipted_as_recorded(a, b, case_id) and receipted_as_recorded(b, a, case_id))
    assert a.deliveries().pending() == b.deliveries().pending() == 0
    delivered = a.deliveries().delivered(case_id)
    own = [e for e in a.app.timeline(case_id) if e.received is None]
    assert set(delivered) <= {e.originator_version for e in own}
    assert all(at is not None for at in delivered.values())
    assert b.inbox is not None and b.inbox.dead == 0
    assert a.relay is not None and a.relay.resent == 0  # receipted in time: nothing again


def test_a_message_the_broker_lost_is_sent_again_until_receipted(tmp_path: Path) -> None:
    with pair_on_own_broker(tmp_path) as (broker, a, b):
        story, case_id = accepted_minor(a, b)

        b.stop("inbox")  # the partner reads nothing for a while
        during = [m for m in story.moves[7:12] if m.side is Side.REFERRING]
        for move in during:
            a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
        assert a.relay is not None
        wait_until(lambda: a.relay is not None and a.relay.lag() == 0)  # acked by the broker
        restarted(broker, a, b)  # memory storage: every message it held is gone
        b.start_inbox()

        delivered_once(a, b, case_id, timeout=150)
        assert a.relay.resent >= len(during)


def test_a_partner_away_longer_than_the_first_waits_gets_every_fact_once(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    a.start_inbox()
    relay = a.start_relay()
    case_id = referring_moves(a, b, 4)
    sent = len(a.own_hashes(case_id))
    wait_until(lambda: relay.resent >= 2 * sent, timeout=30)  # sent three times at least
    time.sleep(0.5)
    inbox = b.start_inbox()
    delivered_once(a, b, case_id)
    # Every copy is recognised, never applied twice, and receipted again.
    wait_until(lambda: inbox.duplicates >= 2 * sent and
               inbox.receipted == inbox.applied + inbox.duplicates)
    assert inbox.applied == sent and inbox.dead == 0
