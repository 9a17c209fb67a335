"""Errors as RFC 9457 problem details, the statuses of CONTRACT.md's table.

Every exception a request can provoke ends here as `application/problem+json`;
the last-resort handler answers 500 without a traceback (and logs it, since a
500 is always a bug to fix).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from events.rules import InvalidField, RuleViolation, StepOwner
from events.step import InTheFuture
from services.api.identity.auth import Unauthorized
from services.application import CaseNotFound, UnknownStep, VersionMismatch
from services.exchange.directory import DirectoryUnreadable

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 412: "Precondition failed",
    413: "Content too large", 415: "Unsupported media type", 422: "Unprocessable content",
    500: "Internal server error",
    502: "Bad gateway", 503: "Service unavailable",
}
log = logging.getLogger("homeward.api")


class Problem(Exception):
    """Raised by routes and dependencies for a refusal that is not a domain rule."""

    def __init__(self, status: int, detail: str, *, slug: str | None = None,
                 rule: str | None = None, errors: list[dict[str, str]] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.rule, self.errors = status, detail, rule, errors
        self.slug = slug  # None: `problem` names it after the status
        self.headers = dict(headers or {})


def problem(status: int, detail: str, *, slug: str | None = None, rule: str | None = None,
            errors: list[dict[str, str]] | None = None,
            headers: Mapping[str, str] | None = None) -> JSONResponse:
    slug = slug or TITLES.get(status, "error").lower().replace(" ", "-")
    body: dict[str, Any] = {"type": f"urn:homeward:problem:{slug}",
                            "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail}
    if rule is not None:
        body["rule"] = rule
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON,
                        headers=dict(headers or {}))


def field_errors(errors: Iterable[Any]) -> list[dict[str, str]]:
    """Pydantic's errors as {field, message}, the field a dotted path in the body."""
    out = []
    for error in errors:
        loc: Sequence[Any] = error.get("loc", ())
        if loc and loc[0] == "body":
            loc = loc[1:]
        field = ".".join(str(part) for part in loc) or "body"
        out.append({"field": field, "message": str(error.get("msg", "invalid"))})
    return out


async def _problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Problem)
    return problem(error.status, error.detail, slug=error.slug, rule=error.rule,
                   errors=error.errors, headers=error.headers)


async def _rule(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RuleViolation)
    # The partner owns the step: the caller may not do it, whatever the case's state.
    status = 403 if isinstance(error, StepOwner) else 409
    return problem(status, error.detail, slug=error.code, rule=error.code)


async def _contradicts(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InvalidField)
    return problem(422, "the request contradicts the case", slug="invalid",
                   errors=[{"field": error.field, "message": error.detail}])


async def _not_found(request: Request, error: Exception) -> JSONResponse:
    return problem(404, "no such case visible to this agency", slug="not-found")


async def _unknown_step(request: Request, error: Exception) -> JSONResponse:
    return problem(404, f"no such step: {error}", slug="not-found")


async def _version(request: Request, error: Exception) -> JSONResponse:
    if request.headers.get("if-match") is not None:
        return problem(412, str(error), slug="version-mismatch")
    return problem(409, str(error), slug="concurrent-change")


async def _unauthorized(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, Unauthorized) and error.status != 401:  # the provider is unreachable
        return problem(error.status, str(error), slug="unavailable")
    return problem(401, str(error), slug="unauthorized",
                   headers={"WWW-Authenticate": 'Bearer realm="homeward"'})


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError | ValidationError)
    errors = list(error.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "the body is not JSON", slug="not-json")
    detail = "the request does not match the schema"
    return problem(422, detail, slug="invalid", errors=field_errors(errors))


async def _future(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InTheFuture)
    return problem(422, "a step cannot record what has not happened yet", slug="invalid",
                   errors=[{"field": error.field, "message": error.detail}])


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    return problem(error.status_code, str(error.detail), headers=error.headers)


async def _no_directory(request: Request, error: Exception) -> JSONResponse:
    # The file is being rewritten, or was written wrong: an operator's to fix, not a bug.
    return problem(503, f"the trust directory cannot be read now: {error}",
                   slug="directory-unreadable")


async def _bug(request: Request, error: Exception) -> JSONResponse:
    log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.url.path,
              exc_info=error)
    return problem(500, "the server failed; the failure was logged", slug="internal")


def install(app: FastAPI) -> None:
    handlers = {
        Problem: _problem, RuleViolation: _rule, InvalidField: _contradicts,
        CaseNotFound: _not_found,
        UnknownStep: _unknown_step, VersionMismatch: _version, Unauthorized: _unauthorized,
        RequestValidationError: _invalid, ValidationError: _invalid, HTTPException: _http,
        InTheFuture: _future, DirectoryUnreadable: _no_directory,
        Exception: _bug,
    }
    for exception, handler in handlers.items():
        app.add_exception_handler(exception, handler)
