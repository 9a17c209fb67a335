"""What a node shows of its deliveries: each own event that crossed carries `delivered_at`
once the partner's receipt arrived (null before), and messages still without a receipt
after the threshold are counted on the board, on /metrics and in /readyz."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import build_node
from services.clock import FixedClock
from services.contract.codec import is_exported
from services.network.demo_cases import repatriation
from services.settings import load
from services.tables.deliveries import Deliveries, Sent
from tests.harness.http_nodes import XA, XB, HttpNode

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_delivered_at_and_undelivered_messages_follow_the_receipts(tmp_path: Path) -> None:
    clock = FixedClock(START)
    settings = load(agency=XA, data_dir=tmp_path / "xa", undelivered_after_seconds=60)
    node = build_node(settings, clock)
    node.deliveries = Deliveries(node.tables)  # as a node with a broker has them
    node.start()
    xa = HttpNode(node, TestClient(create_app(node)))
    try:
        story = repatriation(START.date(), receiving=XB)
        case_id = xa.post("/v1/cases", story.opening).json()["id"]
        assert xa.step(case_id, "consent", story.moves[0].body).status_code < 300
        assert xa.step(case_id, "referral", {}).status_code < 300
        events = node.app.timeline(UUID(case_id))
        crossed = [e for e in events if is_exported(e)]
        node.deliveries.sending([Sent(f"00000000-0000-4000-8000-00000000000{e.originator_version}",
                                      UUID(case_id), e.originator_version, XB) for e in crossed],
                                clock.now(), clock.now())
        assert all(e["delivered_at"] is None for e in xa.timeline(case_id))

        clock.advance(seconds=61)  # past the threshold without a receipt
        assert xa.get("/v1/cases").json()["undelivered"] == len(crossed)
        assert f"homeward_undelivered_messages {float(len(crossed))}" in xa.client.get(
            "/metrics").text
        assert "without a receipt" in xa.client.get("/readyz").json()["alerts"]["delivery"]

        first = crossed[0].originator_version
        node.deliveries.receipted(f"00000000-0000-4000-8000-00000000000{first}", UUID(case_id),
                                  XB, "a" * 64, clock.now())
        timeline = xa.timeline(case_id)
        assert [e["seq"] for e in timeline if e["delivered_at"]] == [first]
        assert xa.get("/v1/cases").json()["undelivered"] == len(crossed) - 1
    finally:
        xa.client.close()
        node.close()
