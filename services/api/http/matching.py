"""Route matching: each included router turns away at once a path none of its routes has.

The app finds a request's route by asking each included router in turn, in the order the
routers were included (the OpenAPI document's order, which stays as it is), and a router
asks each of its routes: a step's path went through five routers' routes before the
steps'. A router whose routes are all plain paths (a regular expression each) is given one
expression for all of them, tried first: a path it does not match is one that no route of
the router matches in any way (neither fully nor for another method, which also needs the
path to match), so the router answers as it would have, without asking its routes. The
same expression names the first of its routes a path is of: where that route takes the
request's method, the router's answer is a full match, as its own walk would find (the
router's match is only that: it hands the request on to its routes). Any other path or
method, and any router holding something else (a mount, a host, a nested router), is
asked as before. tests/unit/test_route_matching.py walks every route of both nodes'
apps and checks each router answers exactly as it does unaided.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Match, Route, compile_path
from starlette.types import Scope

_GROUP = re.compile(r"\(\?P<\w+>")  # a path parameter's named group


def install(app: FastAPI) -> None:
    """Gives each included router of `app` its quick refusal. Called once every router
    is included (services/api/app.py): a router included later is asked as before."""
    for router in app.router.routes:
        paths = _paths(router)
        if paths is not None:
            router.matches = _refusing(router.matches, *paths)  # type: ignore[method-assign,assignment]


Methods = dict[str, frozenset[str] | None]  # a route's group: the methods it takes (None: all)


def _paths(router: Any) -> tuple[re.Pattern[str], Methods] | None:
    """One expression matching whatever path one of the router's routes matches, a named
    group for each route, and the methods each takes; or None where the router is not an
    included router of plain routes only.

    Made from the router's own routes and the prefix it was included with, each path
    compiled as its route does (starlette's `compile_path`), not from the routes FastAPI
    prepares for the inclusion: those carry each route's validators too, about a third of
    a second of CPU an app, which a request would only pay for the routers it reaches."""
    original = getattr(router, "original_router", None)
    included = getattr(router, "include_context", None)
    if original is None or included is None or getattr(original, "_low_priority_routes", None):
        return None
    patterns, methods = [], {}
    for number, route in enumerate(original.routes):
        if not isinstance(route, APIRoute | Route):
            return None
        regex, _, _ = compile_path(included.path_for(route))
        patterns.append(f"(?P<r{number}>{_GROUP.sub('(?:', regex.pattern)})")
        methods[f"r{number}"] = None if route.methods is None else frozenset(route.methods)
    return (re.compile("|".join(patterns)), methods) if patterns else None


def _refusing(matches: Callable[[Scope], tuple[Match, Scope]], paths: re.Pattern[str],
              methods: Methods) -> Callable[[Scope], tuple[Match, Scope]]:
    def refusing(scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return matches(scope)
        found = paths.match(get_route_path(scope))
        if found is None:
            return Match.NONE, {}
        taken = methods[found.lastgroup or ""]
        if taken is None or scope["method"] in taken:
            return Match.FULL, {}
        return matches(scope)
    return refusing
