"""Operations: liveness, readiness, metrics, and two commands racing for one version."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.harness.http_nodes import Pair, open_case

RISK = {"level": "low", "factors": [], "valid_until": "2025-12-31"}


def test_health_and_readiness_need_no_token(nodes: Pair) -> None:
    assert nodes.xa.client.get("/healthz").json() == {"status": "ok"}
    ready = nodes.xa.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_the_openapi_document_shows_each_step_body_and_the_headers(nodes: Pair) -> None:
    assert nodes.xa.client.get("/docs").status_code == 404  # HOMEWARD_API_DOCS is off
    paths = nodes.xa.client.get("/openapi.json").json()["paths"]
    transport = paths["/v1/cases/{case_id}/transport"]["post"]
    assert transport["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TransportPlan"}
    assert {p["name"] for p in transport["parameters"]} >= {"If-Match", "Idempotency-Key"}
    assert "Idempotency-Key" in {p["name"] for p in paths["/v1/cases"]["post"]["parameters"]}


def test_not_ready_when_the_store_is_unreachable(nodes: Pair) -> None:
    def unreachable() -> None:
        raise ConnectionError("store down")

    nodes.xa.node.checks["store"] = unreachable
    ready = nodes.xa.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["failed"] == {"store": "ConnectionError"}


def test_metrics_count_requests_by_route_and_steps_by_type(nodes: Pair) -> None:
    case_id = open_case(nodes)
    nodes.xa.step(case_id, "risk-assessment", RISK)
    nodes.xa.step(case_id, "referral", {})
    text = nodes.xa.client.get("/metrics").text
    assert ('homeward_http_requests_total{method="POST",route="/v1/cases/{case_id}/referral",'
            'status="409"} 1.0') in text
    assert 'homeward_steps_recorded_total{type="RiskAssessed"} 1.0' in text
    assert 'homeward_steps_recorded_total{type="CaseOpened"} 1.0' in text
    assert case_id not in text


def race(nodes: Pair, case_id: str, headers: dict[str, str]) -> list[int]:
    start = threading.Barrier(2)

    def command(_: int) -> int:
        start.wait()
        return nodes.xa.step(case_id, "risk-assessment", RISK, **headers).status_code

    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(command, range(2)))


def test_two_commands_on_one_version_one_wins(nodes: Pair) -> None:
    case_id = open_case(nodes)
    for round_ in range(10):
        version = nodes.xa.state(case_id)["version"]
        codes = race(nodes, case_id, {"If-Match": f'"{version}"'})
        assert codes[0] == 200 and codes[1] in (409, 412), (round_, codes)
        assert nodes.xa.state(case_id)["version"] == version + 1
    assert len(nodes.xa.timeline(case_id)) == 11


def test_racing_without_if_match_loses_no_update(nodes: Pair) -> None:
    case_id = open_case(nodes)
    won = 0
    for _ in range(10):
        codes = race(nodes, case_id, {})
        assert set(codes) <= {200, 409}, codes
        won += codes.count(200)
    events = nodes.xa.timeline(case_id)
    assert len(events) == 1 + won == nodes.xa.state(case_id)["version"]
    assert [e["seq"] for e in events] == list(range(1, won + 2))
    assert nodes.xa.get("/v1/audit/verify", "auditor").json()["ok"] is True
