"""The OpenAPI document tells a partner every refusal: per operation, each status as
`application/problem+json` in the `Problem` schema, a step's rule codes as an enum, the
bearer scheme; and a request is validated before its If-Match is judged."""

from __future__ import annotations

from typing import Any

from events.rules import RULES
from events.step import refusals
from events.steps import STEPS
from services.api.http.problems import PROBLEM_JSON
from tests.harness.http_nodes import Pair, open_case

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def document(nodes: Pair) -> dict[str, Any]:
    body: dict[str, Any] = nodes.xa.client.get("/openapi.json").json()
    return body


def problem_schema(operation: dict[str, Any], status: int) -> dict[str, Any]:
    response = operation["responses"][str(status)]
    assert list(response["content"]) == [PROBLEM_JSON], (status, response)
    schema: dict[str, Any] = response["content"][PROBLEM_JSON]["schema"]
    return schema


def test_every_step_declares_its_refusals_as_problems(nodes: Pair) -> None:
    paths = document(nodes)["paths"]
    for step in STEPS.values():
        if step.automatic:  # the case records it itself: no route
            continue
        operation = paths[f"/v1/cases/{{case_id}}/{step.path}"]["post"]
        assert set(operation["responses"]) == {
            "200", "400", "401", "403", "404", "409", "412", "413", "422"}
        for status in (400, 401, 404, 412, 413, 422):
            assert problem_schema(operation, status) == PROBLEM
        conflict = problem_schema(operation, 409)
        assert conflict["allOf"][0] == PROBLEM
        codes = conflict["allOf"][1]["properties"]["rule"]["enum"]
        assert codes == sorted(refusals(step)) and set(codes) <= set(RULES)
        assert problem_schema(operation, 403)["allOf"][1]["properties"]["rule"]["enum"] == [
            "step-owner"]
    transport = paths["/v1/cases/{case_id}/transport"]["post"]
    assert "travel-document-valid" in problem_schema(transport, 409)["allOf"][1][
        "properties"]["rule"]["enum"]


def test_every_operation_documents_its_problems_and_the_bearer_scheme(nodes: Pair) -> None:
    doc = document(nodes)
    assert doc["components"]["schemas"]["Problem"]["required"] == [
        "type", "title", "status", "detail"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            statuses = {int(s) for s in operation["responses"]}
            refusals_ = {s for s in statuses if s >= 400 and s != 503}
            if path.startswith("/v1/"):
                assert operation["security"] == [{"HTTPBearer": []}], path
                assert {401, 403} <= refusals_, (method, path)
            for status in refusals_:
                schema = problem_schema(operation, status)
                assert schema == PROBLEM or schema["allOf"][0] == PROBLEM
            for status in statuses - refusals_:
                assert PROBLEM_JSON not in operation["responses"][str(status)].get("content", {})


def test_a_bad_body_is_422_before_if_match_is_judged(nodes: Pair) -> None:
    case_id = open_case(nodes)
    bad_body = {"scopes": ["nowhere"], "language": 7}
    for stale in ('"9"', '"abc"'):
        refused = nodes.xa.step(case_id, "consent", bad_body, **{"If-Match": stale})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == PROBLEM_JSON
        not_a_case = nodes.xa.step("not-a-uuid", "consent", {}, **{"If-Match": stale})
        assert not_a_case.status_code == 422
    consent = {"scopes": ["refer"], "language": "en", "interpreter": False, "given_by": "person"}
    assert nodes.xa.step(case_id, "consent", consent, **{"If-Match": '"abc"'}).status_code == 412
    assert nodes.xa.step(case_id, "consent", consent, **{"If-Match": '"9"'}).status_code == 412
    assert nodes.xa.state(case_id)["version"] == 1

