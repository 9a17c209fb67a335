"""A step's route answers a plain request itself (services/api/http/quick.py) and leaves
every other to FastAPI: both ways must give the same answer, byte for byte, and leave the
case the same. Every step's route is sent the same good and bad requests twice, once as
served and once with its quick path turned off, and the answers compared; counters on the
routes' own judgement and on FastAPI's solver show which way each went."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from events.steps import STEPS
from events.values import Side
from services.api import policy
from services.api.app import create_app
from services.api.http.quick import QuickRoute
from services.api.identity.auth import issue
from services.bootstrap import build_node, jwt_secret
from services.clock import FixedClock
from services.network.demo_cases import REFERRING, repatriation
from services.settings import load

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)
PATHS = sorted(s.path for s in STEPS.values() if not s.automatic)


class Served:
    """The app of XA-NRM, its tokens, and FastAPI's solver counted."""

    def __init__(self, app: FastAPI, client: TestClient, token: Callable[..., str]) -> None:
        self.app, self.client, self.token = app, client, token
        self.solved = 0  # FastAPI's solver called
        self.quick = 0  # a route answered a request itself
        for endpoint in self.endpoints():
            endpoint.plain = self._counted(endpoint.plain)

    def endpoints(self) -> list[Any]:
        return [route.original_route.endpoint for route in policy.routes(self.app)
                if isinstance(route.original_route, QuickRoute)]

    def _counted(self, plain: Any) -> Any:
        async def counted(request: Any) -> Any:
            try:
                values = await plain(request)
            except Exception:  # the rule's check refused: answered without FastAPI too
                self.quick += 1
                raise
            self.quick += values is not None
            return values
        return counted

    def open(self) -> str:
        story = repatriation(NOW.date())
        answer = self.client.post("/v1/cases", json=story.opening,
                                  headers={"Authorization": self.token()})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def version(self, case_id: str) -> Any:
        answer = self.client.get(f"/v1/cases/{case_id}",
                                 headers={"Authorization": self.token(), "X-Purpose": "test"})
        return answer.json().get("version")

    @contextmanager
    def fastapi_only(self) -> Iterator[None]:
        """Every step's route answers through FastAPI's own handler."""
        endpoints = self.endpoints()
        assert len(endpoints) == len(PATHS)
        kept = [e.plain for e in endpoints]

        async def never(request: Any) -> None:
            return None

        for endpoint in endpoints:
            endpoint.plain = never
        try:
            yield
        finally:
            for endpoint, plain in zip(endpoints, kept, strict=True):
                endpoint.plain = plain


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    node = build_node(load(agency=REFERRING, data_dir=tmp_path_factory.mktemp("quick") / "xa"),
                      FixedClock(NOW))

    def token(sub: str = "xa-worker", agency: str = REFERRING,
              roles: tuple[str, ...] = ("caseworker", "supervisor")) -> str:
        return "Bearer " + issue(jwt_secret(node.settings), sub, agency, list(roles), datetime.now(UTC), 1.0,
                                 issuer=node.settings.issuer,
                                 audience=node.settings.audience)

    app = create_app(node)
    with TestClient(app, raise_server_exceptions=False) as client:
        world = Served(app, client, token)
        solve = fastapi.routing.solve_dependencies

        async def counted(*args: Any, **kwargs: Any) -> Any:
            world.solved += 1
            return await solve(*args, **kwargs)

        fastapi.routing.solve_dependencies = counted
        try:
            yield world
        finally:
            fastapi.routing.solve_dependencies = solve
    node.close()


def answer(served: Served, method_path: str, body: bytes | None,
           headers: dict[str, str]) -> tuple[int, dict[str, str], bytes, int, int]:
    """The answer, its headers, whether the route answered it itself, and how many times
    FastAPI's solver was called."""
    quick, solved = served.quick, served.solved
    got = served.client.post(method_path, content=body, headers=headers)
    return (got.status_code, dict(got.headers), got.content, served.quick - quick,
            served.solved - solved)


def both_ways(served: Served, path: str, body: bytes | None, headers: dict[str, str]
              ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    quick = answer(served, path, body, headers)
    with served.fastapi_only():
        slow = answer(served, path, body, headers)
    return quick, slow


JSON = {"Content-Type": "application/json"}


def requests(served: Served, body: bytes) -> list[tuple[str, bytes | None, dict[str, str], bool]]:
    """(what, body, headers, plain): the requests a step's route is sent, `body` a body its
    model may take, and whether the route answers each itself where the model takes it;
    where it does not, FastAPI names the fields."""
    good = served.token()
    return [
        ("the body", body, {**JSON, "Authorization": good}, True),
        ("no body", None, {"Authorization": good}, body == b"{}"),
        ("no token", body, JSON, True),
        ("a Basic scheme", body, {**JSON, "Authorization": "Basic abc"}, True),
        ("a forged token", body, {**JSON, "Authorization": "Bearer a.b.c"}, True),
        ("an auditor", body, {**JSON, "Authorization": served.token(roles=("auditor",))}, True),
        ("a caseworker only", body,
         {**JSON, "Authorization": served.token(roles=("caseworker",))}, True),
        ("another agency", body,
         {**JSON, "Authorization": served.token(agency="XB-NRM")}, True),
        ("broken JSON", b'{"a":', {**JSON, "Authorization": good}, False),
        ("a JSON list", b"[]", {**JSON, "Authorization": good}, False),
        ("JSON null", b"null", {**JSON, "Authorization": good}, False),
        # A JSON body is read as JSON whatever its Content-Type (http/limits.py).
        ("text/plain", body, {"Content-Type": "text/plain", "Authorization": good}, True),
        ("a charset", body, {"Content-Type": "application/json; charset=utf-8",
                             "Authorization": good}, True),
        ("no content type", body, {"Authorization": good}, True),
        ("a wrong field", b'{"given_at": 12, "decision": []}', {**JSON, "Authorization": good},
         False),
        ("If-Match not a version", body, {**JSON, "Authorization": good, "If-Match": "abc"},
         True),
        ("If-Match an old version", body, {**JSON, "Authorization": good, "If-Match": '"0"'},
         True),
        ("If-Match any", body, {**JSON, "Authorization": good, "If-Match": "*"}, True),
        ("a long Idempotency-Key", body,
         {**JSON, "Authorization": good, "Idempotency-Key": "k" * 256}, False),
    ]


# Every step's route is sent these; consent's (a body it needs) and the referral's (a body it
# may leave out) all of the above.
EVERY_ROUTE = {"the body", "no body", "an auditor", "another agency", "a wrong field",
               "If-Match not a version"}


def same(quick: tuple[Any, ...], slow: tuple[Any, ...], what: str, plain: bool,
         ids: tuple[bytes, bytes] = (b"", b"")) -> None:
    assert quick[:2] == slow[:2], what
    assert quick[2].replace(ids[0], b"ID") == slow[2].replace(ids[1], b"ID"), what
    assert slow[3] == 0, f"{what}: answered quickly with the quick path off"
    if plain:
        assert (quick[3], quick[4]) == (1, 0), f"{what}: a plain request went to FastAPI"
    else:
        assert quick[3] == 0, f"{what}: the route answered a request it cannot judge"


def walk_through(served: Served, path: str, body: bytes, takes: bool,
                 sent: set[str] | None) -> None:
    """The requests sent in turn to two cases opened alike, one answered as served and
    the other through FastAPI: the same answers (the case's id aside), and a refusal
    leaves each case as it was."""
    quick_case, slow_case = served.open(), served.open()
    version = served.version(quick_case)
    for what, data, headers, plain in requests(served, body):
        if sent is not None and what not in sent:
            continue
        quick = answer(served, f"/v1/cases/{quick_case}/{path}", data, headers)
        with served.fastapi_only():
            slow = answer(served, f"/v1/cases/{slow_case}/{path}", data, headers)
        same(quick, slow, f"{path}: {what}", plain and takes,
             (quick_case.encode(), slow_case.encode()))
        if quick[0] >= 400:
            assert served.version(quick_case) == version, f"{path}: {what} changed the case"
        version = served.version(quick_case)
        assert served.version(slow_case) == version


@pytest.mark.parametrize("path", PATHS)
def test_every_step_route_answers_as_fastapi_does(served: Served, path: str) -> None:
    optional = not any(f.is_required() for f in STEPS[path].body.model_fields.values())
    walk_through(served, path, b"{}", optional, EVERY_ROUTE)


@pytest.mark.parametrize("path", ["consent", "referral"])
def test_each_kind_of_request_is_answered_as_fastapi_does(served: Served, path: str) -> None:
    body = {"consent": next(m.body for m in repatriation(NOW.date()).moves
                            if m.path == "consent"), "referral": {}}[path]
    walk_through(served, path, json.dumps(body).encode(), True, None)


@pytest.mark.parametrize(("case_id", "plain"), [
    ("6F9619FF-8B86-D011-B42D-00C04FC964FF", True),  # canonical, in upper case
    ("6f9619ff-8b86-d011-b42d-00c04fc964ff", True),
    ("6f9619ff8b86d011b42d00c04fc964ff", False), ("{6f9619ff-8b86-d011-b42d-00c04fc964ff}", False),
    ("urn:uuid:6f9619ff-8b86-d011-b42d-00c04fc964ff", False), ("not-a-case", False),
    ("1" * 40, False),
])
def test_a_case_id_not_written_plainly_is_fastapis(served: Served, case_id: str,
                                                    plain: bool) -> None:
    consent = next(m.body for m in repatriation(NOW.date()).moves if m.path == "consent")
    quick, slow = both_ways(served, f"/v1/cases/{case_id}/consent",
                            json.dumps(consent).encode(),
                            {**JSON, "Authorization": served.token()})
    same(quick, slow, case_id, plain)


def twice(name: str, values: list[str], token: str, case_id: str) -> list[tuple[str, str]]:
    """The headers of a consent with `name` sent once for each of `values`; a key is used
    once, so each case has keys of its own (the idempotency layer's rule)."""
    given = [v + case_id if name == "Idempotency-Key" else v for v in values]
    kept = [h for h in [("Authorization", token), ("Content-Type", "application/json")]
            if h[0] != name]
    return kept + [(name, v) for v in given]


def test_a_header_sent_twice_is_fastapis(served: Served) -> None:
    good = served.token()
    consent = json.dumps(next(m.body for m in repatriation(NOW.date()).moves
                              if m.path == "consent")).encode()
    for name, values in [("Authorization", [good, served.token(roles=("auditor",))]),
                         ("If-Match", ['"1"', '"0"']), ("Idempotency-Key", ["a", "b"])]:
        quick_case, slow_case = served.open(), served.open()

        before = served.quick, served.solved
        quick = served.client.post(f"/v1/cases/{quick_case}/consent", content=consent,
                                   headers=twice(name, values, good, quick_case))
        assert served.quick == before[0] and served.solved > before[1], name
        with served.fastapi_only():
            slow = served.client.post(f"/v1/cases/{slow_case}/consent", content=consent,
                                      headers=twice(name, values, good, slow_case))
        assert (quick.status_code, quick.content.replace(quick_case.encode(), b"ID")) == \
            (slow.status_code, slow.content.replace(slow_case.encode(), b"ID")), name


def test_a_walk_of_steps_answers_the_same_either_way(served: Served) -> None:
    """The referring agency's steps of a repatriation, each recorded on one case quickly
    and on another through FastAPI: the same answers, ids aside, and ETags alike."""
    quick_case, slow_case = served.open(), served.open()
    story = repatriation(NOW.date())
    recorded = 0
    for move in (m for m in story.moves if m.side is Side.REFERRING):
        body = json.dumps(move.body).encode()
        headers = {**JSON, "Authorization": served.token()}
        quick = answer(served, f"/v1/cases/{quick_case}/{move.path}", body, headers)
        with served.fastapi_only():
            slow = answer(served, f"/v1/cases/{slow_case}/{move.path}", body, headers)
        same(quick, slow, move.path, True, (quick_case.encode(), slow_case.encode()))
        recorded += quick[0] == 200
    assert recorded >= 3  # the walk gets somewhere: consent, referral, ...
    assert UUID(quick_case) != UUID(slow_case)


def test_a_key_over_its_bound_is_fastapis_even_past_the_idempotency_layer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The idempotency layer refuses such a key before any route; the route judges it as
    FastAPI's header bound would, whatever sits in front of it."""
    from starlette.requests import Request

    from services.api.routers import steps

    async def anyone(request: Request) -> str:
        return "the caller"

    monkeypatch.setattr(steps, "step_recorder", anyone)

    def judged(key: str) -> dict[str, Any] | None:
        scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
                 "headers": [(b"content-type", b"application/json"),
                             (b"idempotency-key", key.encode())],
                 "path_params": {"case_id": "6f9619ff-8b86-d011-b42d-00c04fc964ff"}}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        plain = steps.plain_step(STEPS["referral"], optional=True)
        return asyncio.run(plain(Request(scope, receive)))

    assert judged("k" * (steps.MAX_IDEMPOTENCY_KEY + 1)) is None
    within = judged("k" * steps.MAX_IDEMPOTENCY_KEY)
    assert within is not None and within["who"] == "the caller"
