"""Route matching: each included router turns away at once a path none of its routes has.

The app finds a request's route by asking each included router in turn, in the order the
routers were included (the OpenAPI document's order, which stays as it is), and a router
asks each of its routes: a step's path went through five routers' routes before the
steps'. A router whose routes are all plain paths (a regular expression each) is given one
expression for all of them, tried first: a path it does not match is one that no route of
the router matches in any way (neither fully nor for another method, which also needs the
path to match), so the router answers as it would have, without asking its routes. Any
other path, and any router holding something else (a mount, a host, a nested router), is
asked as before. tests/unit/test_route_matching.py walks every route of both nodes'
apps and checks each router answers exactly as it does unaided.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette._utils import get_route_path
from starlette.routing import Match, Route
from starlette.types import Scope

_GROUP = re.compile(r"\(\?P<\w+>")  # a path parameter's named group


def install(app: FastAPI) -> None:
    """Gives each included router of `app` its quick refusal. Called once every router
    is included (services/api/app.py): a router included later is asked as before."""
    for router in app.router.routes:
        paths = _paths(router)
        if paths is not None:
            router.matches = _refusing(router.matches, paths)  # type: ignore[method-assign,assignment]


def _paths(router: Any) -> re.Pattern[str] | None:
    """One expression matching whatever path one of the router's routes matches, or None
    where the router is not an included router of plain routes only."""
    if not hasattr(router, "effective_route_contexts"):
        return None
    patterns = []
    for route in iter_route_contexts([router]):
        if not isinstance(route.original_route, APIRoute | Route):
            return None
        regex = getattr(route, "path_regex", None)
        if not isinstance(regex, re.Pattern):
            return None
        patterns.append(f"(?:{_GROUP.sub('(?:', regex.pattern)})")
    return re.compile("|".join(patterns)) if patterns else None


def _refusing(matches: Callable[[Scope], tuple[Match, Scope]],
              paths: re.Pattern[str]) -> Callable[[Scope], tuple[Match, Scope]]:
    def refusing(scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and paths.match(get_route_path(scope)) is None:
            return Match.NONE, {}
        return matches(scope)
    return refusing
