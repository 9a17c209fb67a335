"""The status board and the corridors pages: public HTML holding no case data, under a
strict Content-Security-Policy, whose script reads only API routes that exist and that
answer only with a token."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from events.values import Status
from services.api.app import create_monitor_app
from services.api.identity.auth import issue
from services.bootstrap import build_monitor, jwt_secret
from services.clock import FixedClock
from services.network.demo_cases import repatriation
from services.network.embedded import _announce
from services.network.members import members
from services.settings import load
from tests.harness.http_nodes import START, XB, Pair, open_case, play

BOARD, CORRIDORS, NEW = "/ui/board", "/ui/corridors", "/ui/cases/new"
# Ways to turn data into markup, or to keep the token beyond the tab.
UNSAFE = ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
          "new Function", "localStorage", "cookie", "setAttribute(\"style\""]


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    settings = load(agency="monitor", data_dir=tmp_path / "monitor")
    node = build_monitor(settings, FixedClock(START))
    token = issue(jwt_secret(settings), "monitor-1", "monitor", ["monitor"], datetime.now(UTC))
    with TestClient(create_monitor_app(node)) as client:
        yield client, token
    node.close()


def only(pattern: str, page: str) -> str:
    found = re.findall(pattern, page, re.DOTALL)
    assert len(found) == 1, f"{pattern}: {len(found)} matches"
    text: str = found[0]
    return text


def script(page: str) -> str:
    return only(r"<script>(.*?)</script>", page)


def style(page: str) -> str:
    return only(r"<style>(.*?)</style>", page)


def policy(response: Response) -> dict[str, list[str]]:
    directives = (d.split() for d in response.headers["content-security-policy"].split(";"))
    return {d[0]: d[1:] for d in directives if d}


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def api_paths(page: str) -> set[str]:
    return set(re.findall(r'"(/v1/[^"?]*)"', script(page)))


def pages(nodes: Pair, monitor: tuple[TestClient, str]) -> list[Response]:
    case = f"/ui/cases/{open_case(nodes)}"
    return [nodes.xa.client.get(BOARD), monitor[0].get(CORRIDORS), nodes.xa.client.get(case),
            nodes.xa.client.get(NEW), nodes.xa.client.get(case + "?lang=ar")]


def test_each_page_loads_without_a_token_as_html_never_cached(
    nodes: Pair, monitor: tuple[TestClient, str],
) -> None:
    for response in pages(nodes, monitor):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "<form id=\"signin\"" in response.text and 'type="password"' in response.text


def test_the_policy_lets_only_the_pages_own_script_and_style_run(
    nodes: Pair, monitor: tuple[TestClient, str],
) -> None:
    for response in pages(nodes, monitor):
        rules, page = policy(response), response.text
        assert rules["default-src"] == ["'self'"]
        assert rules["script-src"] == [sha256(script(page))]
        assert rules["style-src"] == [sha256(style(page))]
        assert rules["connect-src"] == ["'self'"]
        assert rules["object-src"] == rules["frame-ancestors"] == rules["base-uri"] == ["'none'"]
        assert "unsafe" not in response.headers["content-security-policy"]
        # Self-contained: nothing is loaded from anywhere, nor from another file here.
        assert not re.search(r"https?://|<script [^>]*src|<link|<img|@import", page)


def test_the_pages_put_data_into_the_document_only_as_text(
    nodes: Pair, monitor: tuple[TestClient, str],
) -> None:
    for response in pages(nodes, monitor):
        code = script(response.text)
        assert [u for u in UNSAFE if u in code] == []
        assert "textContent" in code and "sessionStorage" in code
        assert "history.replaceState" in code  # a #token=... leaves the address bar


def test_the_board_page_holds_no_case_data(nodes: Pair) -> None:
    case_id = open_case(nodes)
    play(nodes, case_id, repatriation(START.date()).moves[:2])  # consent, referral
    board = nodes.xa.get("/v1/cases").json()
    assert [c["id"] for c in board["items"]] == [case_id]

    page = nodes.xa.client.get(BOARD).text

    for secret in (case_id, case_id[:8], "Okafor", "Amina", XB, "referral"):
        assert secret not in page


def test_every_api_read_the_board_makes_exists_and_needs_a_token(nodes: Pair) -> None:
    case_id = open_case(nodes)
    play(nodes, case_id, repatriation(START.date()).moves[:2])
    page = nodes.xa.client.get(BOARD).text
    paths = api_paths(page)
    # The approvals queue (a supervisor's read) and its decisions are the only writes.
    queue, decision = "/v1/approvals", "/v1/approvals/{id}/decision"
    assert paths == {"/v1/cases", "/v1/handoffs", "/v1/cases/{id}/timeline", queue, decision}
    paths -= {queue, decision}
    assert nodes.xa.client.get(queue).status_code == 401
    assert nodes.xa.get(queue, "supervisor").status_code == 200
    assert nodes.xa.client.post(decision.replace("{id}", case_id), json={
        "decision": "approved"}).status_code == 401
    limit = only(r'const PAGE = (\d+);', page)
    in_transit = only(r'const HANDOFFS = (\d+);', page)
    statuses = re.findall(r'<option value="([a-z_]+)">', only(r'<select id="status">(.*?)</select>', page))
    overdue = re.findall(r'<option value="([a-z]+)">', only(r'<select id="overdue">(.*?)</select>', page))
    assert statuses == [s.value for s in Status] and overdue == ["true", "false"]

    for path in paths:
        url = path.replace("{id}", case_id)
        assert nodes.xa.client.get(url).status_code == 401
        assert nodes.xa.get(url).status_code == 200
    for status in statuses:  # every filter the page offers is one the API accepts
        for flag in overdue:
            response = nodes.xa.get("/v1/cases", status=status, overdue=flag, limit=limit,
                                    offset=limit)
            assert response.status_code == 200, response.text
    assert nodes.xa.get("/v1/handoffs", overdue="true", limit=in_transit).status_code == 200
    events = nodes.xa.get(f"/v1/cases/{case_id}/timeline").json()["events"]
    assert [e["type"] for e in events][0] == "CaseOpened"


def test_every_status_has_its_colour_on_both_pages(
    nodes: Pair, monitor: tuple[TestClient, str],
) -> None:
    for response in pages(nodes, monitor):
        css = style(response.text)
        assert [s.value for s in Status if f".s-{s.value} {{" not in css] == []


def test_the_corridors_page_reads_the_corridor_view_with_a_monitors_token(
    nodes: Pair, monitor: tuple[TestClient, str],
) -> None:
    client, token = monitor
    page = client.get(CORRIDORS).text
    assert api_paths(page) == {"/v1/monitor/corridors", "/v1/monitor/series",
                               "/v1/monitor/trends", "/v1/monitor/alerts",
                               "/v1/monitor/statistics/htcds"}
    for path in api_paths(page):  # the corridor view, the series, trends, alerts, export
        assert client.get(path).status_code == 401
        answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        if path in ("/v1/monitor/corridors", "/v1/monitor/series", "/v1/monitor/alerts"):
            assert answer.json() == []
    # Each node serves its own page only.
    assert client.get(BOARD).status_code == 404
    assert nodes.xa.client.get(CORRIDORS).status_code == 404


def test_homeward_run_names_each_nodes_page(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _announce(members(tmp_path, 8001), "127.0.0.1:9092")
    out = capsys.readouterr().out
    assert all(f"http://127.0.0.1:{port}/ui/board" in out for port in (8001, 8002, 8004))
    assert "http://127.0.0.1:8003/ui/corridors" in out
    assert "/ui/corridors" not in out.split("monitor ")[0]
