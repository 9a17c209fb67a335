"""Steps over HTTP on a real server beside `Homeward.record`, same node, same run.

    .venv/bin/python -m bench.http [--clients 8] [--cases 4] [--steps 25]

A node on SQLite (as `homeward serve` builds and starts it) behind uvicorn on loopback.
First `Homeward.record` alone, one thread: consent recorded again and again on fresh
cases. Then CLIENTS concurrent HTTP clients (a kept-alive connection each, all in another
process, as they would be on other machines) post the same step to cases of their own:
POST /v1/cases/{id}/consent with a caseworker's token, every request timed and its status
checked. The ratio is the server's steps per second over Homeward.record's.

The clients are the standard library's `http.client`, a request written and its answer
read, and little else: they share the machine's two cores with the server, and httpx's
own work (0.66 ms of CPU a step, near half the server's) was taken from the server
being measured (docs/architecture.md, "A step over HTTP").
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import uvicorn

from bench._figures import Figure, median, percentile, save
from events.steps import OpenCase
from services.api.app import create_app
from services.api.identity.auth import issue
from services.api.node import Node
from services.backends.broker import free_port
from services.bootstrap import build_node, jwt_secret
from services.network.demo_cases import REFERRING, repatriation
from services.settings import load
from tests.harness.walks import actor

PATH = "consent"


def consent_body() -> dict[str, object]:
    story = repatriation(datetime.now(UTC).date())
    return next(m.body for m in story.moves if m.path == PATH)


def record_rate(node_app: object, cases: int, steps: int) -> float:
    """Homeward.record alone: `steps` consents on each of `cases` fresh cases."""
    from services.application import Homeward

    assert isinstance(node_app, Homeward)
    story = repatriation(datetime.now(UTC).date())
    who, body = actor(story.moves[0]), consent_body()
    ids = [node_app.open_case(OpenCase.model_validate(story.opening), who).id
           for _ in range(cases)]
    began = time.perf_counter()
    for case_id in ids:
        for _ in range(steps):
            node_app.record(case_id, PATH, body, who)
    return cases * steps / (time.perf_counter() - began)


def serve(app: object, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("bench: the server did not start")
        time.sleep(0.05)
    return server, thread


class Client:
    """One kept-alive connection to the server, as a caseworker's client holds it."""

    def __init__(self, url: str, token: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Bearer {token}",
                        "Content-Type": "application/json"}

    def post(self, path: str, body: object) -> tuple[int, bytes]:
        self.connection.request("POST", path, json.dumps(body).encode(), self.headers)
        answer = self.connection.getresponse()
        return answer.status, answer.read()

    def close(self) -> None:
        self.connection.close()


def client_walk(url: str, token: str, cases: int, steps: int, latencies: list[float],
                ready: threading.Barrier) -> None:
    story = repatriation(datetime.now(UTC).date())
    body = consent_body()
    client = Client(url, token)
    try:
        ids = []
        for _ in range(cases):
            status, text = client.post("/v1/cases", story.opening)
            if status != 201:
                raise SystemExit(f"bench: POST /v1/cases {status} {text!r}")
            ids.append(UUID(json.loads(text)["id"]))
        ready.wait()
        for case_id in ids:
            for _ in range(steps):
                began = time.perf_counter()
                status, text = client.post(f"/v1/cases/{case_id}/{PATH}", body)
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    raise SystemExit(f"bench: POST {PATH}: {status} {text!r}")
    finally:
        client.close()


def clients_process(url: str, token: str, clients: int, cases: int, steps: int,
                    go: Any, out: Any) -> None:
    """The clients, in a process of their own as they would be on other machines: they
    do not take the server's interpreter lock. A round each time they are told to go."""
    while go.get():
        out.put(_http_rate(url, token, clients, cases, steps))


class Clients:
    """The clients' process, started once, its rounds run between `Homeward.record`'s
    turns."""

    def __init__(self, url: str, token: str, clients: int, cases: int, steps: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.go, self.out = context.Queue(), context.Queue()
        self.process = context.Process(target=clients_process,
                                       args=(url, token, clients, cases, steps, self.go,
                                             self.out))
        self.process.start()

    def round(self) -> tuple[float, list[float]]:
        self.go.put(True)
        result: tuple[float, list[float]] = self.out.get(timeout=600)
        return result

    def close(self) -> None:
        self.go.put(False)
        self.process.join(timeout=30)


TURNS = 4  # Homeward.record's turns, each followed by a round of the clients


def caught_up(node: Node, timeout: float = 60) -> None:
    """Until the node's read models hold every event: what a turn of `Homeward.record`
    wrote is not folded while the clients' round runs, which it would slow."""
    deadline = time.monotonic() + timeout
    while any(node.read_models.store.position(runner.name)
              < (node.app.recorder.max_notification_id() or 0)
              for runner in node.read_models.runners):
        if time.monotonic() > deadline:
            raise SystemExit("bench: the read models did not catch up")
        time.sleep(0.01)


def in_turns(node: Node, clients: Clients, cases: int, steps: int
             ) -> tuple[float, float, list[float]]:
    """`Homeward.record` alone and the steps over HTTP, in turns: each rate over all its
    turns, and every request's time. Timed one after the other, the two met different
    disks (a step's commit is most of both) and the same tree's ratio went from 0.24 to
    0.47 between runs."""
    recorded = record_seconds = posted = post_seconds = 0.0
    latencies: list[float] = []
    for _ in range(TURNS):
        rate = record_rate(node.app, cases, steps)
        recorded, record_seconds = recorded + cases * steps, record_seconds + cases * steps / rate
        caught_up(node)
        rate, times = clients.round()
        posted, post_seconds = posted + len(times), post_seconds + len(times) / rate
        latencies += times
    return recorded / record_seconds, posted / post_seconds, latencies


def _http_rate(url: str, token: str, clients: int, cases: int, steps: int
               ) -> tuple[float, list[float]]:
    latencies: list[float] = []
    ready = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=client_walk,
                                args=(url, token, cases, steps, latencies, ready))
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - began), latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cases", type=int, default=4, help="cases per client")
    parser.add_argument("--steps", type=int, default=25, help="steps per case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node = build_node(load(agency=REFERRING, data_dir=Path(tmp) / "node")).start()
        try:
            token = issue(jwt_secret(node.settings), "xa-nrm-worker", REFERRING, ["caseworker"],
                          datetime.now(UTC), 1.0, issuer=node.settings.issuer,
                          audience=node.settings.audience)
            port = free_port()
            server, thread = serve(create_app(node), port)
            # Each client walks its cases a round at a time: TURNS rounds in all.
            clients = Clients(f"http://127.0.0.1:{port}", token, args.clients,
                              max(1, args.cases // TURNS), args.steps)
            try:
                record, rate, latencies = in_turns(
                    node, clients, args.clients * max(1, args.cases // TURNS), args.steps)
            finally:
                clients.close()
                server.should_exit = True
                thread.join(timeout=10)
        finally:
            node.close()
    ms = [x * 1000 for x in latencies]
    print(f"Homeward.record ({PATH}), one thread: {record:,.0f} steps/s")
    print(f"HTTP POST {PATH}, uvicorn on loopback, {args.clients} clients: {rate:,.0f} steps/s; "
          f"p50 {median(ms):.1f} ms, p99 {percentile(ms, 99):.1f} ms, n={len(ms)}")
    save({
        "http.record_per_s": Figure(record, "steps/s"),
        "http.post_step_per_s": Figure(rate, "steps/s", rate / record, "http.record_per_s"),
        "http.post_step_ratio": Figure(rate / record, "ratio", rate / record,
                                       "http.record_per_s", ">= 0.5"),
        "http.post_step_p50_ms": Figure(median(ms), "ms"),
        "http.post_step_p99_ms": Figure(percentile(ms, 99), "ms", None, None, "< 50"),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
