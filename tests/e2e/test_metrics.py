"""/metrics: label values from fixed sets only, and who may read them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import build_node
from services.settings import load
from tests.harness.http_nodes import Pair
from tests.harness.support import free_port

METRICS_TOKEN = "m" * 40


def test_a_made_up_method_is_counted_as_other(nodes: Pair) -> None:
    for method in ("FOOBAR", "BREW", "X" * 60):
        assert nodes.xa.client.request(method, "/v1/cases").status_code == 405
    nodes.xa.client.request("PROPFIND", "/nowhere/at/all")
    text = nodes.xa.client.get("/metrics").text
    assert 'homeward_http_requests_total{method="OTHER",route="/v1/cases",status="405"} 3.0' \
        in text
    assert 'method="OTHER",route="unmatched"' in text
    for made_up in ("FOOBAR", "BREW", "PROPFIND", "XXXX"):
        assert made_up not in text


def test_made_up_paths_fold_into_one_series(nodes: Pair) -> None:
    for n in range(20):
        nodes.xa.client.get(f"/random/{n}/path")
    text = nodes.xa.client.get("/metrics").text
    assert 'homeward_http_requests_total{method="GET",route="unmatched",status="404"} 20.0' in text
    assert "/random/" not in text


@pytest.fixture
def node_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("HOMEWARD_METRICS_TOKEN", raising=False)
    monkeypatch.delenv("HOMEWARD_METRICS_ADDR", raising=False)
    return tmp_path


def test_metrics_can_require_a_token(node_settings: Path) -> None:
    node = build_node(load(agency="XA-NRM", data_dir=node_settings, metrics_token=METRICS_TOKEN))
    try:
        client = TestClient(create_app(node))
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": f"Basic {METRICS_TOKEN}"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert allowed.status_code == 200 and "homeward_http_requests_total" in allowed.text
    finally:
        node.close()


def test_metrics_can_have_an_address_of_their_own(node_settings: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    node = build_node(load(agency="XA-NRM", data_dir=node_settings, metrics_addr=address))
    try:
        client = TestClient(create_app(node))
        client.get("/healthz")
        assert client.get("/metrics").status_code == 404  # not on the API's address
        apart = httpx.get(f"http://{address}/metrics", timeout=5)
        assert apart.status_code == 200
        assert 'route="/healthz",status="200"' in apart.text
    finally:
        node.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{address}/metrics", timeout=2)


@pytest.mark.parametrize("name, value", [("metrics_token", "short"),
                                         ("metrics_addr", "9100"),
                                         ("metrics_addr", "host:port")])
def test_bad_metrics_settings_stop_the_node(name: str, value: str) -> None:
    from services.settings import SettingsError

    with pytest.raises(SettingsError, match=f"^HOMEWARD_{name.upper()}: "):
        load(agency="XA-NRM", **{name: value})


def test_the_monitor_honours_the_metrics_token(node_settings: Path) -> None:
    from services.api.app import create_monitor_app
    from services.bootstrap import build_monitor

    node = build_monitor(load(agency="monitor", data_dir=node_settings,
                              metrics_token=METRICS_TOKEN))
    try:
        client = TestClient(create_monitor_app(node))
        assert client.get("/metrics").status_code == 401
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert "homeward_milestones_refused 0.0" in allowed.text
    finally:
        node.close()
