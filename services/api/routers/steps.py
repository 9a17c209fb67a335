"""One route per step of the case, each with its own body in the OpenAPI document."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Request, Response

from events.step import Step, refusals
from events.steps import STEPS
from services.api.deps import IDEMPOTENT, ExpectedVersion, metrics_of, node_of
from services.api.http import openapi
from services.api.http.pool import in_pool
from services.api.http.sanity import check_dates
from services.api.identity.auth import Principal
from services.api.models import Recorded
from services.api.node import Node
from services.api.policy import StepRecorder, check_step
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
    return record_step


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
        operation_id=f"record_{_step.path.replace('-', '_')}",
    )
