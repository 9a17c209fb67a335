"""Each included router's quick refusal (services/api/http/matching.py) answers exactly as
the router does unaided: for every route of both nodes' apps, its path with sample values,
with a slash added or taken away (what the app's redirect tries), and paths of no route,
under every method, each of the app's routes matches as FastAPI's own walk would have it
match. So the route chosen, a 405 for another method and a trailing slash's redirect are
the same."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from services.api import policy
from tests.harness.apps import both_apps

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
VALUES = ("2c0b3f5e-5d7e-4d43-9a4e-5d3c2f1a0b9c", "x", "12", "a/b", "")
ELSEWHERE = ("/", "", "/v1", "/v1/", "/v1/cases/", "//", "/v1//cases", "/nowhere",
             "/v1/cases/x/y/z/consent", "/V1/CASES", "/v1/cases/x/consent/extra")


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FastAPI]]:
    with both_apps(tmp_path_factory.mktemp("matching"), NOW) as made:
        yield made


def paths(app: FastAPI) -> set[str]:
    """Each route's path with each sample value for its parameters, each with a slash
    added or taken away, and paths of no route."""
    found = set(ELSEWHERE)
    for route in policy.routes(app):
        template = route.path_format or ""
        for value in VALUES:
            path = re.sub(r"\{[^}]+\}", value, template)
            found |= {path, path + "/", path.rstrip("/"), path + "/more"}
    return found


def scope(method: str, path: str, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": root_path + path,
            "root_path": root_path, "headers": [], "query_string": b""}


def unaided(route: Any, request: dict[str, Any]) -> tuple[Match, dict[str, Any]]:
    """What the route answers with its own `matches`, not the quick refusal."""
    answer: tuple[Match, dict[str, Any]] = type(route).matches(route, request)
    return answer


@pytest.mark.parametrize("which", ["agency", "monitor"])
def test_every_router_matches_as_it_does_unaided(apps: dict[str, FastAPI], which: str
                                                 ) -> None:
    app = apps[which]
    refusing = [r for r in app.router.routes if "matches" in vars(r)]
    assert len(refusing) >= 5  # the included routers, the steps' among them
    compared = 0
    for path in sorted(paths(app)):
        for method in METHODS:
            for root_path in ("", "/behind"):
                for route in app.router.routes:
                    quick = route.matches(scope(method, path, root_path))
                    own = unaided(route, scope(method, path, root_path))
                    assert quick[0] == own[0], (which, method, path, route)
                    assert quick[1].keys() == own[1].keys(), (which, method, path, route)
                    compared += 1
    assert compared > 10_000


def test_the_app_answers_another_method_and_a_trailing_slash_as_before(
        apps: dict[str, FastAPI]) -> None:
    client = TestClient(apps["agency"], follow_redirects=False)
    assert client.get("/v1/cases/2c0b3f5e-5d7e-4d43-9a4e-5d3c2f1a0b9c/consent").status_code \
        == 405
    redirected = client.get("/healthz/")
    assert redirected.status_code == 307
    assert redirected.headers["location"].endswith("/healthz")
    assert client.get("/nowhere").status_code == 404
