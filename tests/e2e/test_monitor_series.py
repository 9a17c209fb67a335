"""GET /v1/monitor/series: what the corridor page's charts draw, for monitors only, with
every cell below k suppressed as /v1/monitor/statistics suppresses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, uuid5

from fastapi.testclient import TestClient

from services.api.app import create_monitor_app
from services.api.identity.auth import issue
from services.bootstrap import build_monitor, jwt_secret
from services.clock import FixedClock
from services.settings import load

NOW = datetime(2025, 3, 15, tzinfo=UTC)


def opened(n: int, receiving: str) -> list[tuple[str, dict[str, object]]]:
    return [(str(uuid5(NAMESPACE_URL, f"{receiving}-{i}")), {
        "corridor": {"referring": "XA-NRM", "receiving": receiving}, "kind": "repatriation",
        "milestone": "case-opened", "status": "opened", "minor": False, "due_at": None,
        "occurred_at": (datetime(2025, 2, 1, tzinfo=UTC) + timedelta(hours=i)).isoformat()})
        for i in range(n)]


def test_the_series_needs_a_monitor_and_suppresses_small_cells(tmp_path: Path) -> None:
    settings = load(agency="monitor", data_dir=tmp_path / "monitor")
    node = build_monitor(settings, FixedClock(NOW))
    node.view.record([*opened(12, "XB-NRM"), *opened(4, "XC-NRM")])
    secret = jwt_secret(settings)
    monitor = issue(secret, "monitor-1", "monitor", ["monitor"], datetime.now(UTC))
    caseworker = issue(secret, "xa-1", "XA-NRM", ["caseworker"], datetime.now(UTC))
    with TestClient(create_monitor_app(node)) as client:
        assert client.get("/v1/monitor/series").status_code == 401
        # An agency's token, even signed with the monitor's secret, is not the monitor's.
        refused = client.get("/v1/monitor/series", headers={"Authorization": f"Bearer {caseworker}"})
        assert refused.status_code == 401
        answer = client.get("/v1/monitor/series", headers={"Authorization": f"Bearer {monitor}"})
        statistics = client.get("/v1/monitor/statistics",
                                headers={"Authorization": f"Bearer {monitor}"}).json()
    node.close()
    assert answer.status_code == 200
    big, small = answer.json()
    assert big["months"] == small["months"] == ["2025-02", "2025-03"]
    assert big["by_status"]["2025-03"] == {"opened": 12}
    assert small["by_status"]["2025-03"] == {"opened": None}
    # The published statistics hide the same cells now.
    assert [s["by_status"] for s in statistics] == [{"opened": 12}, {"opened": None}]
    assert big["k"] == small["k"] == statistics[0]["k"] == 11
