"""One route per step of the case, each with its own body in the OpenAPI document.

Each is a `QuickRoute` (services/api/http/quick.py): a plain request, which `plain_step`
judges as FastAPI would, is answered without FastAPI's solving; any other is FastAPI's."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Request, Response
from pydantic import ValidationError

from events.step import Step, refusals
from events.steps import STEPS
from services.api.deps import IDEMPOTENT, ExpectedVersion, IfMatch, metrics_of, node_of
from services.api.http import openapi
from services.api.http.limits import MAX_IDEMPOTENCY_KEY
from services.api.http.pool import in_pool
from services.api.http.quick import Plain, QuickRoute
from services.api.http.sanity import check_dates
from services.api.identity.auth import Principal
from services.api.models import Recorded
from services.api.node import Node
from services.api.policy import StepRecorder, check_step, step_recorder
from services.api.views import recorded

router = APIRouter(prefix="/v1/cases", tags=["steps"], dependencies=IDEMPOTENT)


def step_route(step: Step) -> Callable[..., Any]:
    # A coroutine, so that FastAPI runs it (and validates its answer) on the event loop:
    # what blocks, the step recorded and committed, takes one hop to the loop's pool.
    # The node and the metrics are read from the request: a dependency each would be
    # two more for FastAPI to solve at every step.
    async def record_step(case_id: UUID, who: StepRecorder, request: Request,
                          expected: ExpectedVersion, response: Response,
                          body: Any = None) -> Recorded:
        version = expected.version()  # judged after validation: a bad body is 422 first
        check_step(who, step)
        check_dates(body)
        data = (body or step.body()).model_dump(mode="json", exclude_none=True)
        answer = await in_pool(_record, node_of(request), case_id, step, data, who, version)
        metrics_of(request).steps.labels(step.event.__name__).inc()
        response.headers["ETag"] = f'"{answer.version}"'
        return answer

    # The body's type differs per step: give the signature the step's own model,
    # optional when every field of it is.
    optional = not any(f.is_required() for f in step.body.model_fields.values())
    signature = inspect.signature(record_step)
    body = signature.parameters["body"].replace(
        annotation=Annotated[step.body | None if optional else step.body, Body()],
        default=None if optional else inspect.Parameter.empty,
    )
    params = [body if p.name == "body" else p for p in signature.parameters.values()]
    record_step.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    record_step.__name__ = "record_" + step.path.replace("-", "_")
    record_step.plain = plain_step(step, optional)  # type: ignore[attr-defined]
    return record_step


# What a plain step request is: a case id written as uuid4 writes it, each header the route
# reads sent at most once, an Idempotency-Key within its bound (`limits.MAX_IDEMPOTENCY_KEY`),
# and a body that is empty (where the step's body is optional) or a JSON object sent as
# `application/json` that the step's model takes.
CANONICAL_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                          r"[0-9a-fA-F]{12}")
READ = (b"authorization", b"if-match", b"idempotency-key", b"content-type")


def plain_step(step: Step, optional: bool) -> Plain:
    """The arguments of the step's route for a plain request, or None: FastAPI then judges
    it. The rule's check is called as FastAPI calls it, and refuses the same way."""
    async def plain(request: Request) -> dict[str, Any] | None:
        case_id = request.path_params.get("case_id")
        if not isinstance(case_id, str) or CANONICAL_ID.fullmatch(case_id) is None:
            return None
        headers: dict[bytes, bytes] = {}
        for name, value in request.scope["headers"]:
            if name in READ:
                if name in headers:
                    return None
                headers[name] = value
        key = headers.get(b"idempotency-key")
        if key is not None and len(key.decode("latin-1")) > MAX_IDEMPOTENCY_KEY:
            return None
        raw = await request.body()
        if not raw:
            if not optional:
                return None
            body = None
        else:
            if headers.get(b"content-type") != b"application/json":
                return None
            try:
                data = json.loads(raw)
            except ValueError:
                return None
            if not isinstance(data, dict):
                return None
            try:
                body = step.body.model_validate(data)
            except ValidationError:
                return None
        match = headers.get(b"if-match")
        return {"case_id": UUID(case_id), "who": await step_recorder(request),
                "request": request, "body": body,
                "expected": IfMatch(None if match is None else match.decode("latin-1"))}
    return plain


def _record(node: Node, case_id: UUID, step: Step, data: dict[str, Any],
            who: Principal, version: int | None) -> Recorded:
    """The step recorded, and the answer read from the case it made, in the pool's thread."""
    case = node.app.record(case_id, step.path, data, who.actor(), version)
    return recorded(case, node.clock.now())


for _step in (s for s in STEPS.values() if not s.automatic):  # the case records those itself
    router.add_api_route(
        f"/{{case_id}}/{_step.path}", step_route(_step), methods=["POST"],
        response_model=Recorded, name=_step.path, responses=openapi.step(refusals(_step)),
        summary=f"Record {_step.event.__name__}",
        operation_id=f"record_{_step.path.replace('-', '_')}", route_class_override=QuickRoute,
    )
