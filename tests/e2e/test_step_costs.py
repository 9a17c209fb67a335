"""What a step over HTTP costs the server besides the step itself: one hop to the thread
pool (the token checked in place, the answer validated on the event loop), and no route
prepared while a caller waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from fastapi import routing
from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.harness.http_nodes import Pair, open_case

CONSENT = {"scopes": ["refer"], "language": "en", "interpreter": False, "given_by": "person"}


def hops_counted(monkeypatch: pytest.MonkeyPatch) -> list[Callable[..., Any]]:
    """Every call handed to a thread: through anyio (FastAPI's and Starlette's pool) or
    the event loop's own executor."""
    hops: list[Callable[..., Any]] = []
    run_sync, run_in_executor = anyio.to_thread.run_sync, asyncio.BaseEventLoop.run_in_executor

    async def counted(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await run_sync(func, *args, **kwargs)

    def in_executor(loop: asyncio.BaseEventLoop, executor: Any, func: Callable[..., Any],
                    *args: Any) -> Any:
        hops.append(func)
        return run_in_executor(loop, executor, func, *args)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", in_executor)
    return hops


def test_a_step_takes_one_hop_to_the_thread_pool(nodes: Pair,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = open_case(nodes)
    hops = hops_counted(monkeypatch)
    response = nodes.xa.step(case_id, "consent", CONSENT)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"' and response.json()["version"] == 2
    assert len(hops) == 1


def test_a_keyed_step_adds_only_its_key_s_reservation_and_answer(
        nodes: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = open_case(nodes)
    hops = hops_counted(monkeypatch)
    response = nodes.xa.step(case_id, "consent", CONSENT, **{"Idempotency-Key": "c-1"})
    assert response.status_code == 200, response.text
    assert len(hops) == 3  # the key reserved, the step, the answer kept
    again = nodes.xa.step(case_id, "consent", CONSENT, **{"Idempotency-Key": "c-1"})
    assert again.headers["idempotent-replayed"] == "true" and again.json()["version"] == 2


def test_a_refused_step_still_answers_with_its_rule_s_code(nodes: Pair) -> None:
    case_id = open_case(nodes)
    response = nodes.xa.step(case_id, "referral", {})
    assert response.status_code == 409
    assert nodes.xa.state(case_id)["version"] == 1


def test_the_routes_are_prepared_before_the_first_request(
        nodes: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = open_case(nodes)
    prepared: list[object] = []
    from_api_route = routing._EffectiveRouteContext.from_api_route

    def counted(*args: Any, **kwargs: Any) -> Any:
        prepared.append(kwargs.get("original_route"))
        return from_api_route(*args, **kwargs)

    monkeypatch.setattr(routing._EffectiveRouteContext, "from_api_route", counted)
    with TestClient(create_app(nodes.xa.node)) as client:  # started as a server starts it
        before = len(prepared)
        headers = nodes.xa.headers()
        opened = client.post("/v1/cases", json={"not": "an opening"}, headers=headers)
        assert opened.status_code == 422  # not a body: answered by a prepared route
        assert client.get("/v1/cases", headers=headers).status_code == 200
        assert client.post(f"/v1/cases/{case_id}/consent", json=CONSENT,
                           headers=headers).status_code == 200
    assert before > 0 and len(prepared) == before


def test_the_step_s_hop_runs_in_another_thread_in_the_caller_s_context() -> None:
    import contextvars
    import threading

    from services.api.http.pool import in_pool

    who = contextvars.ContextVar("who", default="nobody")

    def seen() -> tuple[str, str]:
        return who.get(), threading.current_thread().name

    async def hop() -> tuple[tuple[str, str], str]:
        who.set("ana")
        return await in_pool(seen), threading.current_thread().name

    (name, thread), caller = asyncio.run(hop())
    assert name == "ana" and thread != caller
