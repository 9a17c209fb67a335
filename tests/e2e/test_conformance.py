"""Schemathesis with all its checks against the ASGI app: statuses, content types,
headers and bodies conform to the OpenAPI document, invalid requests are refused and
valid ones accepted, except for the documented refusals a case's state or the domain's
own checks give (a stale If-Match, a date out of range, a partner off the corridors)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi.checks import RejectedPositiveData

from services.api.http.problems import PROBLEM_JSON
from services.clock import FixedClock
from tests.harness.http_nodes import START, HttpNode, Pair, http_node, open_case

EXAMPLES = 6  # per operation: about 230 requests, under a minute
# Valid by the schema, refused by the state of the case or the domain's own checks; each
# is a documented problem of its operation.
# A generated Idempotency-Key sent again with another body, after a request that created
# something (an approval request) under it: refused as the contract says.
DOMAIN_REFUSALS = {(412, "version-mismatch"), (422, "invalid"), (422, "idempotency-key-reused")}


def test_every_generated_request_conforms_to_the_document(tmp_path: Path) -> None:
    http = http_node(tmp_path / "conformance", "XA-NRM", FixedClock(START))
    try:
        case_id = open_case(Pair(FixedClock(START), http, http))
        # Unknown query parameters are ignored, as HTTP APIs do; schemathesis 4.32 counts
        # accepting them as "negative data accepted" (its issue 3730), so it sends none.
        config = SchemathesisConfig.from_dict({"generation": {"allow-extra-parameters": False}})
        schema = schemathesis.openapi.from_asgi("/openapi.json", http.client.app,
                                                config=config)
        operations = [result.ok() for result in schema.get_all_operations()]
        seen: Counter[str] = Counter()
        for operation in operations:
            run(operation, case_id, http, seen)
        assert seen["calls"] >= len(operations) * EXAMPLES // 2
        assert seen["2xx"] > 0 and seen["4xx"] > 0
    finally:
        http.client.close()
        http.node.close()


def run(operation: Any, case_id: str, http: HttpNode, seen: Counter[str]) -> None:
    fixed = {"case_id": case_id} if "{case_id}" in operation.path else None
    strategy = st.one_of(*[operation.as_strategy(mode, path_parameters=params)
                           for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                           for params in (None, fixed)])

    @given(strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def conforms(case: Any) -> None:
        # The generated Authorization is replaced by a valid token; a case generated
        # without one (a negative case) is sent without one.
        headers = http.headers("supervisor") if "Authorization" in (case.headers or {}) else {}
        response = case.call(headers=headers)
        seen["calls"] += 1
        seen[f"{response.status_code // 100}xx"] += 1
        try:
            case.validate_response(response)  # every check schemathesis has
        except BaseException as failed:
            for failure in getattr(failed, "exceptions", [failed]):
                assert is_domain_refusal(failure, response), (
                    case.method, case.path, response.status_code, response.text[:300],
                    str(failure)[:300])

    conforms()


def is_domain_refusal(failure: BaseException, response: Any) -> bool:
    if not isinstance(failure, RejectedPositiveData):
        return False
    if response.headers.get("content-type") != [PROBLEM_JSON]:
        return False
    slug = response.json()["type"].removeprefix("urn:homeward:problem:")
    return (response.status_code, slug) in DOMAIN_REFUSALS


pytestmark = pytest.mark.timeout(240)
