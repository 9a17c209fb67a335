"""The interactive API docs are off unless HOMEWARD_API_DOCS=on; when on, each runs only
a pinned, integrity-checked script under a Content-Security-Policy. /openapi.json stays."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.app import create_app, create_monitor_app
from services.api.http.docs import REDOC_JS, SWAGGER_CSS, SWAGGER_JS
from services.api.web.pages import source_hash
from services.bootstrap import build_monitor, build_node
from services.settings import load

PINNED = {SWAGGER_JS[0], SWAGGER_CSS[0], REDOC_JS[0]}


@pytest.fixture(params=["agency", "monitor"])
def app_with(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[
        tuple[str, dict[bool, FastAPI]]]:
    agency = "XA-NRM" if request.param == "agency" else "monitor"
    build, create = ((build_node, create_app) if request.param == "agency"
                     else (build_monitor, create_monitor_app))
    nodes = {on: build(load(agency=agency, data_dir=tmp_path / str(on), api_docs=on))
             for on in (False, True)}
    try:
        yield agency, {on: create(node) for on, node in nodes.items()}  # type: ignore[arg-type]
    finally:
        for node in nodes.values():
            node.close()


def test_the_docs_are_off_unless_asked_for_and_the_document_stays(
        app_with: tuple[str, dict[bool, FastAPI]], monkeypatch: pytest.MonkeyPatch) -> None:
    _, apps = app_with
    client = TestClient(apps[False])
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
    assert client.get("/openapi.json").json()["paths"]
    monkeypatch.setenv("HOMEWARD_API_DOCS", "on")
    assert load(agency="XA-NRM").api_docs is True


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_asked_for_run_only_pinned_checked_scripts_under_a_policy(
        app_with: tuple[str, dict[bool, FastAPI]], path: str) -> None:
    _, apps = app_with
    page = TestClient(apps[True]).get(path)
    assert page.status_code == 200
    policy = dict(part.split(" ", 1) for part in page.headers["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    # Every address the page names is one exact, pinned file, loaded with its SRI hash.
    addresses = set(re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text))
    assert addresses and addresses <= PINNED
    for url in addresses:
        assert re.search(rf'="{re.escape(url)}" integrity="sha384-[A-Za-z0-9+/=]+"', page.text)
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    allowed = policy["script-src"].split()
    assert set(allowed) == {source_hash(s) for s in inline} | (addresses & PINNED - {SWAGGER_CSS[0]})
    assert "'unsafe-eval'" not in allowed and "*" not in policy["script-src"]
    assert re.search(r"@\d+\.\d+\.\d+/", " ".join(addresses))  # a version, not a range
