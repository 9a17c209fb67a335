"""An inbox stopped while it rejoins its group (a node stopped a few seconds after the
broker came back empty) leaves the group so that its successor gets the partitions at once:
a referral sent then arrives within seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.backends.broker import LocalBroker
from services.network.demo_cases import repatriation
from tests.harness.exchange_nodes import open_case, pair, play, restarted, wait_until
from tests.harness.support import free_port

pytestmark = pytest.mark.kafka


def test_an_inbox_stopped_while_rejoining_leaves_its_group_to_its_successor(
    tmp_path: Path,
) -> None:
    broker = LocalBroker(port=free_port(), log_dir=tmp_path / "broker").start()
    a, b = pair(tmp_path, broker.bootstrap)
    try:
        inbox = b.start_inbox()
        restarted(broker, a, b)  # memory storage: the topics and the group are gone

        def rejoining() -> bool:  # its JoinGroup sent to the new broker, not yet answered
            consumer = inbox.partitions.consumer
            coordinator = getattr(consumer, "_coordinator", None)
            return coordinator is not None and coordinator.rebalance_in_progress()

        wait_until(rejoining, timeout=30, every=0.01)
        b.stop("inbox")  # the node stopped (SIGINT) in the middle of the join

        successor = b.start_inbox()  # waits for its partitions: within seconds, not never
        assert successor.assigned
        a.start_relay()  # its own producer on the new broker: only the inbox is under test
        story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
        case_id = open_case(a, b, story.opening)
        assert [m.path for m in story.moves[:2]] == ["consent", "referral"]
        play((a, b), story.moves[:2], case_id)  # the referral arrives (10 s at most)
        assert b.received_hashes(case_id) == a.own_hashes(case_id)
    finally:
        a.close()
        b.close()
        broker.stop()
