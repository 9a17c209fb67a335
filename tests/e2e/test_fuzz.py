"""Schemathesis against the ASGI app: generated requests, valid and not, for every
operation of the OpenAPI document; no input gives a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from services.clock import FixedClock
from tests.harness.http_nodes import START, HttpNode, Pair, http_node, open_case

EXAMPLES = 10  # per operation and mode: the whole run stays well under a minute


def operations(http: HttpNode) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", http.client.app)
    return [result.ok() for result in schema.get_all_operations()]


def strategy(operation: Any, case_id: str) -> Any:
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    fixed = {"case_id": case_id} if "{case_id}" in operation.path else None
    # Half the cases aim at a real case, so bodies reach the domain's rules.
    return st.one_of(*[operation.as_strategy(mode, path_parameters=params)
                       for mode in modes for params in {None: None, "f": fixed}.values()])


def test_no_generated_request_gives_a_500(tmp_path: Path) -> None:
    http = http_node(tmp_path / "fuzz", "XA-NRM", FixedClock(START))
    try:
        case_id = open_case(Pair(FixedClock(START), http, http))
        found = operations(http)
        # open and board, a case, its timeline, the steps, hand-offs, audit (verify,
        # cross-check, access), the partner's chain view, operations, and the forms'
        # schemas and a case's open steps, the notes' and documents' reads and the upload,
        # the transfer, the casework (assignment, approval requests, the approvals and a
        # decision)
        assert len(found) == 2 + 1 + 1 + 50 + 1 + 3 + 1 + 3 + 2 + 4 + 1 + 4
        calls = [check(operation, case_id, http) for operation in found]
        assert sum(calls) >= len(found) * EXAMPLES // 2  # generated and sent, not skipped
    finally:
        http.client.close()
        http.node.close()


def check(operation: Any, case_id: str, http: HttpNode) -> int:
    calls = []

    @given(strategy(operation, case_id))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def no_500(case: Any) -> None:
        response = case.call(headers=http.headers("supervisor"))
        calls.append(response.status_code)
        assert response.status_code < 500, (case.method, case.path, case.body, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == ["application/problem+json"]

    no_500()
    return len(calls)


pytestmark = pytest.mark.timeout(300)  # about two minutes alone; more beside other workers
