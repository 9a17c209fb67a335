"""What FastAPI solves at every step posted: each dependency of a route is a call of
FastAPI's solver per request (about 6 µs each, and the route's own parameters read again
at each level), so the step's route keeps to those the OpenAPI document needs: the
`Idempotency-Key` header, the rule's check with its bearer token, `If-Match`. The node
and the metrics are read from the request (docs/architecture.md, "A step over HTTP")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from events.steps import STEPS
from services.api import policy
from services.api.app import create_app
from services.bootstrap import build_node
from services.clock import FixedClock
from services.settings import load

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    node = build_node(load(agency="XA-NRM", data_dir=tmp_path_factory.mktemp("deps") / "xa"),
                      FixedClock(NOW))
    try:
        yield create_app(node)
    finally:
        node.close()


def solved(dependant: Any) -> list[str]:
    """The calls FastAPI's solver makes for a route, depth first, by name."""
    names = []
    for sub in dependant.dependencies:
        names.append(getattr(sub.call, "__name__", type(sub.call).__name__))
        names.extend(solved(sub))
    return names


def test_a_step_route_solves_only_what_its_document_names(app: FastAPI) -> None:
    steps = {route.path_format: route for route in policy.routes(app)
             if isinstance(route.original_route, APIRoute)
             and route.path_format.startswith("/v1/cases/{case_id}/")
             and route.path_format.rsplit("/", 1)[1] in STEPS}
    assert "/v1/cases/{case_id}/consent" in steps
    for path, route in steps.items():
        assert solved(route.dependant) == ["_idempotency_key", "check", "HTTPBearer",
                                           "_if_match"], path
        assert [rule.name for rule in policy.rules_of(route)] == ["step-recorder"], path
