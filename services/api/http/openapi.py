"""The OpenAPI document's refusals: per operation, every status it can answer with, as
`application/problem+json` in the one `Problem` schema (CONTRACT.md's table), and for a
step the rule codes it can be refused with.

A route names its refusals with `problems(...)`; `install` puts the `Problem` schema in
the document's components. A partner generating a client learns every refusal from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.api.http.problems import PROBLEM_JSON, TITLES

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `rule` names the domain rule that refused.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:homeward:problem:<slug>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "rule": {"type": "string", "description": "the rule's code (DOMAIN.md)"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
WHY = {
    400: "the body is not JSON, or Content-Length is not a number",
    401: "no bearer token, or one not issued for this node",
    403: "the token's roles do not allow this (or the partner owns the step)",
    404: "no such case visible to this agency",
    409: "refused by a rule of the domain, or a concurrent change",
    412: "If-Match names another version than the case's",
    413: "the body is over 64 KiB (a document: over 10 MiB)",
    415: "a document of a type this node does not keep, or whose bytes are of another",
    422: "the request does not match the schema",
    502: "the partner's node did not answer with its chain (or the directory lists no address)",
}


def problems(*statuses: int, rules: Iterable[str] = ()) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status as a problem. With `rules`, a 409's `rule`
    is one of them (and a 403's is `step-owner`)."""
    codes = sorted(rules)
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        schema: dict[str, Any] = PROBLEM_REF
        if codes and status in (403, 409):
            allowed = ["step-owner"] if status == 403 else codes
            schema = {"allOf": [PROBLEM_REF, {"properties": {"rule": {"enum": allowed}}}]}
        out[status] = {"description": f"{TITLES[status]}: {WHY[status]}",
                       "content": {PROBLEM_JSON: {"schema": schema}}}
    return out


# The refusals of each kind of route.
READ = problems(401, 403, 422)
CASE_READ = problems(401, 403, 404, 422)
OPEN = problems(400, 401, 403, 409, 413, 422, rules=["step-owner"])


def step(rules: Iterable[str]) -> dict[int | str, dict[str, Any]]:
    return problems(400, 401, 403, 404, 409, 412, 413, 422, rules=rules)


def install(app: FastAPI) -> None:
    """The document FastAPI builds, with the `Problem` schema among its components."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = PROBLEM
            # FastAPI's own 422 is JSON in its schema; this API answers it as a problem.
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    if "application/json" in responses.get("422", {}).get("content", {}):
                        responses["422"] = problems(422)[422]
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
