"""A corridor's deadlines in the trust directory govern the node's clocks: the case
view and the status board read the same ones (DOMAIN.md: configurable per corridor)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from events.deadlines import Deadlines
from services.api.app import create_app
from services.bootstrap import build_node
from services.clock import FixedClock
from services.exchange.directory import Corridor, Directory, save
from services.settings import load
from tests.harness.http_nodes import START, XA, XB, HttpNode, opening

CONSENT = {"scopes": ["refer"], "language": "en", "interpreter": False, "given_by": "person"}


def test_the_corridors_acknowledgement_deadline_applies(tmp_path: Path) -> None:
    directory = tmp_path / "directory.json"
    fast = Deadlines(acknowledge=timedelta(hours=6))
    save(directory, Directory(corridors=[Corridor(referring=XA, receiving=XB, deadlines=fast)]))
    clock = FixedClock(START)
    node = build_node(load(agency=XA, data_dir=tmp_path / "xa", directory=directory), clock)
    xa = HttpNode(node, TestClient(create_app(node)))
    try:
        case_id = xa.post("/v1/cases", opening()).json()["id"]
        assert xa.step(case_id, "consent", CONSENT).status_code == 200
        assert xa.step(case_id, "referral", {}).status_code == 200
        clock.advance(hours=7)  # past the corridor's 6 hours, within the default 2 days

        [ack] = [c for c in xa.state(case_id)["clocks"] if c["name"] == "acknowledge referral"]
        assert ack["overdue"] is True
        assert [row["id"] for row in xa.get("/v1/cases", overdue="true").json()["items"]] == [
            case_id]
    finally:
        xa.client.close()
        node.close()
