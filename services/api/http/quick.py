"""A route that answers a plain request itself, and leaves any other to FastAPI.

FastAPI answers a request by solving the route's dependencies (each header, the token, the
path, the body, each parsed and validated through its machinery), calling the endpoint and
validating its answer: about 0.35 ms of the server's one interpreter a step, most of what
the HTTP layer costs beside the step itself (docs/architecture.md, "A step over HTTP").

A `QuickRoute` is declared to FastAPI as any other route, so the OpenAPI document, the
rules read from its dependencies and the matching are FastAPI's. Its endpoint carries a
`plain(request)`: the endpoint's arguments when the request plainly passes everything
FastAPI would check (the same functions judging it: the rule's check, the body's model),
or None for anything it cannot judge so, which FastAPI's own handler then answers, errors
and all. A plain request's answer is written as FastAPI writes it (`serialize_response`,
the endpoint's headers). tests/unit/test_quick_steps.py sends every step's route good and
bad requests both ways and compares the answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute, serialize_response

Plain = Callable[[Request], Awaitable[dict[str, Any] | None]]


class QuickRoute(APIRoute):
    """The route of an endpoint with a `plain` attribute (a `Plain`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        solved = super().get_route_handler()  # FastAPI's, for what is not plain
        endpoint, field = self.endpoint, self.response_field
        assert isinstance(self.response_class, DefaultPlaceholder) and field is not None, \
            "a quick route answers with its response model, as FastAPI's default does"

        async def handle(request: Request) -> Response:
            plain: Plain = endpoint.plain  # type: ignore[attr-defined]
            values = await plain(request)
            if values is None:
                return await solved(request)
            headers = Response()  # what the endpoint sets on its `response`, as FastAPI's
            del headers.headers["content-length"]
            headers.status_code = None  # type: ignore[assignment]
            answer = await endpoint(**values, response=headers)
            content = await serialize_response(
                field=field, response_content=answer, include=self.response_model_include,
                exclude=self.response_model_exclude, by_alias=self.response_model_by_alias,
                exclude_unset=self.response_model_exclude_unset,
                exclude_defaults=self.response_model_exclude_defaults,
                exclude_none=self.response_model_exclude_none, dump_json=True)
            status = headers.status_code or self.status_code or 200
            response = Response(content=content, media_type="application/json",
                                status_code=status)
            response.headers.raw.extend(headers.headers.raw)
            return response

        return handle
