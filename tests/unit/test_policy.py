"""Every route declares who may call it, as a named rule of services/api/policy.py: each
operation of both nodes' OpenAPI documents names its rule (`x-authorization`), and every
route the apps serve, those left out of the document too (pages, sign-in, the document
itself), declares one. `make lint` runs this."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from services.api import policy
from services.api.app import create_app
from services.bootstrap import build_node
from services.clock import FixedClock
from services.settings import load
from tests.harness.apps import both_apps

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FastAPI]]:
    with both_apps(tmp_path_factory.mktemp("policy"), NOW) as made:
        yield made


def undeclared_operations(app: FastAPI) -> list[str]:
    """The operations of the app's OpenAPI document that name no rule of the policy."""
    return [f"{method.upper()} {path}"
            for path, operations in app.openapi()["paths"].items()
            for method, operation in operations.items()
            if operation.get(policy.EXTENSION) not in policy.RULES]


def undeclared_routes(app: FastAPI) -> list[str]:
    """Every route the app serves, in the document or not, that declares no rule."""
    return [str(route.path) for route in policy.routes(app) if not policy.rules_of(route)]


@pytest.mark.parametrize("kind", ["agency", "monitor"])
def test_every_operation_of_the_document_names_its_rule(apps: dict[str, FastAPI],
                                                        kind: str) -> None:
    assert apps[kind].openapi()["paths"]
    assert undeclared_operations(apps[kind]) == []


@pytest.mark.parametrize("kind", ["agency", "monitor"])
def test_every_route_served_declares_one_rule(apps: dict[str, FastAPI], kind: str) -> None:
    served = {str(route.path): policy.rules_of(route) for route in policy.routes(apps[kind])}
    assert {"/openapi.json", "/healthz", "/docs", "/ui/signin"} <= set(served)
    assert undeclared_routes(apps[kind]) == []
    assert [path for path, rules in served.items() if len(rules) != 1] == []


def test_the_rules_are_the_ones_the_routes_need(apps: dict[str, FastAPI]) -> None:
    rule = {(method, path): operation[policy.EXTENSION]
            for doc in (apps["agency"].openapi(), apps["monitor"].openapi())
            for path, operations in doc["paths"].items()
            for method, operation in operations.items()}
    assert rule["post", "/v1/cases"] == "opener"
    assert rule["get", "/v1/cases"] == rule["get", "/v1/handoffs"] == "list-reader"
    assert rule["get", "/v1/cases/{case_id}"] == "case-reader"
    assert rule["post", "/v1/cases/{case_id}/closure"] == "step-recorder"
    assert rule["get", "/v1/audit/access"] == "auditor"
    assert rule["get", "/v1/partner/chain"] == "partner-node"
    assert rule["get", "/v1/monitor/corridors"] == "monitor"
    assert rule["get", "/metrics"] == "metrics-scraper"
    assert rule["get", "/healthz"] == "public"


def test_a_route_without_a_rule_is_found(tmp_path: Path) -> None:
    node = build_node(load(agency="XA-NRM", data_dir=tmp_path), FixedClock(NOW))
    try:
        app = create_app(node)

        @app.get("/v1/unguarded")
        def unguarded() -> dict[str, str]:
            return {}

        @app.get("/ui/unguarded", include_in_schema=False)
        def unguarded_page() -> dict[str, str]:
            return {}

        app.openapi_schema = None
        assert undeclared_operations(app) == ["GET /v1/unguarded"]
        assert undeclared_routes(app) == ["/v1/unguarded", "/ui/unguarded"]
    finally:
        node.close()
