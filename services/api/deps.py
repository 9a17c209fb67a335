"""The routes' dependencies, as Annotated aliases: the node, the If-Match version, the
purpose of a read, the paging. Who may call a route is services/api/policy.py's.

Those that only look at the request are `async`: FastAPI runs a plain function in its
thread pool, a hop each (and a wait for the GIL) that a step paid a dozen times over."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Request

from events.values import AGENCY_CODE
from services.api.http.limits import MAX_IDEMPOTENCY_KEY
from services.api.http.metrics import Metrics, Scrape
from services.api.http.problems import Problem
from services.api.node import MonitorNode, Node

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # it goes into the access log as it is


def _held(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency: what the app holds under `name` (services/api/app.py sets it)."""
    async def held(request: Request) -> Any:
        return getattr(request.app.state, name)
    return held


def node_of(request: Request) -> Node:
    """The node the app serves, read where a route or rule already has the request: a
    dependency of its own is one more for FastAPI to solve at every request."""
    node: Node = request.app.state.node
    return node


def metrics_of(request: Request) -> Metrics:
    """The app's metrics, as `node_of` reads the node."""
    metrics: Metrics = request.app.state.metrics
    return metrics


NodeDep = Annotated[Node, Depends(_held("node"))]
MonitorNodeDep = Annotated[MonitorNode, Depends(_held("node"))]
MetricsDep = Annotated[Metrics, Depends(_held("metrics"))]
ScrapeDep = Annotated[Scrape, Depends(_held("scrape"))]


@dataclass(frozen=True)
class IfMatch:
    """The `If-Match` header as sent. It is judged only in the route, once the request
    passed validation: a malformed body is a 422 whatever version the caller names."""

    header: str | None

    def version(self) -> int | None:
        """The version the caller last saw, from `If-Match: "<version>"` (`*`: any)."""
        if self.header is None or self.header.strip() == "*":
            return None
        tag = self.header.strip().removeprefix("W/").strip('"')
        if not (tag.isascii() and tag.isdigit()):
            raise Problem(412, f"If-Match {self.header!r} names no version of this case",
                          slug="version-mismatch")
        return int(tag)


async def _if_match(if_match: Annotated[str | None, Header(alias="If-Match")] = None
                    ) -> IfMatch:
    return IfMatch(if_match)


async def _purpose(
    request: Request,
    x_purpose: Annotated[str | None, Header(
        alias="X-Purpose", max_length=200, pattern=PRINTABLE,
        description="why personal data is read; kept in the access log under the case's "
                    "key")] = None,
) -> str | None:
    """The purpose of a read, from the `X-Purpose` header only: in the URL it would be
    written to every proxy's and server's log, where erasure cannot reach it. A `purpose`
    query parameter is refused, not ignored, so nobody believes it was recorded."""
    if "purpose" in request.query_params:
        raise Problem(422, "give the purpose of a read in the X-Purpose header, not in the "
                      "URL", slug="invalid",
                      errors=[{"field": "query.purpose",
                               "message": "not a parameter: use the X-Purpose header"}])
    return x_purpose


async def _idempotency_key(
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=MAX_IDEMPOTENCY_KEY,
        description="the same key and body replay the first response")] = None,
) -> None:
    """Only documents the header: the idempotency layer in front of the routes acts on it."""


ExpectedVersion = Annotated[IfMatch, Depends(_if_match)]
# For the `dependencies` of every POST route.
IDEMPOTENT = [Depends(_idempotency_key)]
Purpose = Annotated[str | None, Depends(_purpose)]


# -- paging the board and the hand-offs ----------------------------------------------

MAX_OFFSET = 1_000_000  # past any agency's cases
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items skipped before the page")]
Partner = Annotated[str | None, Query(pattern=AGENCY_CODE.pattern,
                                      description="the partner agency's code, e.g. XB-NRM")]
BoardSort = Literal["urgent", "recent", "oldest", "overdue"]
BOARD_SORT = ("urgent: urgent cases first, then the most recently changed; recent; oldest; "
              "overdue: the longest overdue first")
HandoffSort = Literal["overdue", "departed"]
HANDOFF_SORT = ("overdue: the longest overdue first, then the longest in transit; "
                "departed: the longest in transit first")


def only_parameters(*names: str) -> Any:
    """Refuses a query parameter the route does not take (422), rather than ignore a
    misspelt filter and answer as if none were asked for."""
    known = set(names)

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise Problem(422, f"unknown query parameter: {', '.join(unknown)}", slug="invalid",
                          errors=[{"field": f"query.{name}",
                                   "message": "not a parameter of this route"}
                                  for name in unknown])

    return Depends(check)
