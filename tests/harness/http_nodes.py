"""Two agency nodes over HTTP in one test: real SQLite stores, a fixed clock, and an
in-test relay that feeds each node's shared events to its partner's inbox (the
Kafka exchange does this in production)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from events.values import Received, Side
from services.api.app import create_app
from services.api.http.problems import PROBLEM_JSON
from services.api.identity.auth import issue
from services.api.node import Node
from services.application import CaseNotFound
from services.bootstrap import build_node, jwt_secret
from services.clock import FixedClock
from services.contract.codec import (
    is_exported,
    message_id,
    message_type,
    sent_digests,
    shared_payload,
)
from services.exchange.directory import load as load_directory
from services.exchange.directory import publish, save
from services.network.demo_cases import Move
from services.settings import load, secrets_dir
from services.signing import load_or_create
from tests.harness import builders
from tests.harness.exchange_nodes import agency_code

XA, XB = "XA-NRM", "XB-NRM"
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def token(node: Node, role: str = "caseworker", sub: str | None = None,
          agency: str | None = None, hours: float = 1.0, at: datetime | None = None) -> str:
    # Tokens expire by the wall clock (PyJWT reads it), not by the node's clock.
    agency = agency or node.agency
    return issue(jwt_secret(node.settings), sub or f"{agency.lower()}-{role}", agency,
                 [role], at or datetime.now(UTC), hours)


@dataclass
class HttpNode:
    node: Node
    client: TestClient

    @property
    def agency(self) -> str:
        return self.node.agency

    def headers(self, role: str = "caseworker", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(self.node, role)}", **extra}

    def post(self, path: str, body: Any = None, role: str = "caseworker",
             **headers: str) -> Response:
        return self.client.post(path, json=body, headers=self.headers(role, **headers))

    def get(self, path: str, role: str = "caseworker", **params: Any) -> Response:
        return self.client.get(path, params=params, headers=self.headers(role))

    def step(self, case_id: UUID | str, path: str, body: Any = None, role: str = "caseworker",
             **headers: str) -> Response:
        return self.post(f"/v1/cases/{case_id}/{path}", body, role, **headers)

    def state(self, case_id: UUID | str) -> dict[str, Any]:
        response = self.get(f"/v1/cases/{case_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def timeline(self, case_id: UUID | str, role: str = "caseworker") -> list[dict[str, Any]]:
        response = self.get(f"/v1/cases/{case_id}/timeline", role)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events


class InTestRelay:
    """Sends a node's shared events, minimised by the real codec, to the partner's
    `Homeward.receive`; a case crosses only once it is referred."""

    def __init__(self, source: Node, target: Node) -> None:
        self.source, self.target = source, target
        self.sent: dict[UUID, int] = {}

    def run(self) -> int:
        count = 0
        for case_id in self.source.app.case_ids():
            if self.source.app.case(case_id).state.referred_at is None:
                continue
            timeline = self.source.app.timeline(case_id)
            exported = [e for e in timeline if is_exported(e)]
            digests = sent_digests(timeline)
            for sequence, (event, digest) in enumerate(zip(exported, digests, strict=True),
                                                       start=1):
                if sequence <= self.sent.get(case_id, 0):
                    continue
                at_event = self.source.app.case(case_id, event.originator_version)
                received = Received(self.source.agency,
                                    str(message_id(case_id, event.recorded_by,
                                                   event.originator_version)),
                                    digest, sequence)
                self.target.app.receive(case_id, message_type(event),
                                        shared_payload(at_event, event), received)
                self.sent[case_id] = sequence
                count += 1
        return count


@dataclass
class Pair:
    """The referring node XA-NRM and the receiving node XB-NRM, on one clock."""

    clock: FixedClock
    xa: HttpNode
    xb: HttpNode
    relays: list[InTestRelay | KafkaSync] = field(default_factory=list)

    def node(self, agency: str) -> HttpNode:
        return self.xa if agency == XA else self.xb

    def sync(self) -> None:
        while sum(relay.run() for relay in self.relays):
            pass

    def close(self) -> None:
        for http in (self.xa, self.xb):
            http.client.close()
            http.node.close()


def http_node(data_dir: Path, agency: str, clock: FixedClock) -> HttpNode:
    node = build_node(load(agency=agency, data_dir=data_dir), clock)
    return HttpNode(node, TestClient(create_app(node)))


def pair(tmp_path: Path, clock: FixedClock | None = None) -> Pair:
    clock = clock or FixedClock(START)
    xa, xb = http_node(tmp_path / "xa", XA, clock), http_node(tmp_path / "xb", XB, clock)
    return Pair(clock, xa, xb, [InTestRelay(xa.node, xb.node), InTestRelay(xb.node, xa.node)])


def opening(minor: bool = False, **changes: Any) -> dict[str, Any]:
    """An opening as a caseworker posts it: no id (the node gives one), the person of
    the demo's walk."""
    person = {"given_names": "Amina Grace", "family_name": "Okafor",
              "date_of_birth": "2010-07-14" if minor else "1995-02-11", "sex": "female",
              "nationality": "NG", "languages": ["en"]}
    return builders.opening(minor=minor, with_id=False, **{
        "person": person, "reason": "Identified at a labour inspection.", **changes})


def open_case(p: Pair, **changes: Any) -> str:
    response = p.xa.post("/v1/cases", opening(**changes))
    assert response.status_code == 201, response.text
    case_id: str = response.json()["id"]
    return case_id


def play(p: Pair, case_id: str, moves: list[Move]) -> list[str]:
    played = []
    for move in moves:
        http = p.xa if move.side is Side.REFERRING else p.xb
        role = "supervisor" if move.supervisor else "caseworker"
        response = http.step(case_id, move.path, move.body, role)
        assert response.status_code == 200, (move.path, response.text)
        assert response.json()["version"] == http.state(case_id)["version"]
        played.append(move.path)
        p.sync()
        p.clock.advance(hours=1)
    return played


class KafkaSync:
    """Waits until every fact the source node exported is stored at the target: the real
    relay and inbox carry them over the broker."""

    def __init__(self, source: Node, target: Node, timeout: float = 15.0) -> None:
        self.source, self.target, self.timeout = source, target, timeout

    def run(self) -> int:
        deadline = time.monotonic() + self.timeout
        while not self._caught_up():
            assert time.monotonic() < deadline, f"{self.target.agency} is behind"
            time.sleep(0.02)
        return 0

    def _caught_up(self) -> bool:
        for case_id in self.source.app.case_ids():
            state = self.source.app.case(case_id).state
            if state.referred_at is None or self.target.agency not in (state.referring,
                                                                       state.receiving):
                continue  # not referred yet, or another partner's case
            exported = sum(1 for e in self.source.app.timeline(case_id) if is_exported(e))
            try:
                case = self.target.app.case(case_id)
            except CaseNotFound:
                return False
            if case.last_sequence.get(self.source.agency, 0) < exported:
                return False
        return True


@dataclass
class Network:
    """Agency nodes as `homeward serve` builds them, over a real broker, on one clock; the
    trust directory lists the corridors given. `sync` waits until every node holds what
    each of its partners exported."""

    clock: FixedClock
    nodes: dict[str, HttpNode]
    relays: list[KafkaSync]

    def sync(self) -> None:
        for relay in self.relays:
            relay.run()

    def close(self) -> None:
        for http in self.nodes.values():
            http.client.close()
            http.node.close()


def kafka_network(tmp_path: Path, bootstrap: str, agencies: list[str],
                  corridors: list[tuple[str, str]]) -> Network:
    clock, directory = FixedClock(START), tmp_path / "directory.json"
    settings = []
    for agency in agencies:
        s = load(agency=agency, data_dir=tmp_path / agency.lower(), kafka_bootstrap=bootstrap,
                 directory=directory)
        publish(directory, load_or_create(secrets_dir(s), agency))
        settings.append(s)
    trust = load_directory(directory)
    for referring, receiving in corridors:
        trust = trust.with_corridor(referring, receiving)
    save(directory, trust)
    built = [build_node(s, clock).start() for s in settings]
    nodes = {n.agency: HttpNode(n, TestClient(create_app(n))) for n in built}
    relays = [KafkaSync(a, b) for a in built for b in built if a is not b]
    return Network(clock, nodes, relays)


def kafka_pair(tmp_path: Path, bootstrap: str, xa: str, xb: str,
               database_urls: dict[str, str] | None = None, **kafka: Any) -> Pair:
    """Two nodes as `homeward serve` builds them, exchanging over a real broker; `kafka`
    holds further settings (e.g. kafka_security_protocol); `database_urls`, a store per
    agency (else SQLite in its data dir)."""
    clock, directory = FixedClock(START), tmp_path / "directory.json"
    nodes = []
    for agency in (xa, xb):
        store = {"database_url": database_urls[agency]} if database_urls else {}
        settings = load(agency=agency, data_dir=tmp_path / agency.lower(),
                        kafka_bootstrap=bootstrap, directory=directory, **store, **kafka)
        publish(directory, load_or_create(secrets_dir(settings), agency))
        nodes.append(settings)
    save(directory, load_directory(directory).with_corridor(xa, xb))
    a, b = (build_node(s, clock).start() for s in nodes)
    pair = Pair(clock, HttpNode(a, TestClient(create_app(a))), HttpNode(b, TestClient(create_app(b))))
    pair.relays = [KafkaSync(a, b), KafkaSync(b, a)]
    return pair


def pair_on_each_backend(request: pytest.FixtureRequest, tmp_path: Path, bootstrap: str
                         ) -> Pair:
    """XA and XB over the broker on the backend a fixture's `request.param` names: SQLite
    in their data dirs, or PostgreSQL in two schemas of the test's own."""
    xa, xb = agency_code("XA"), agency_code("XB")
    urls = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        urls = {xa: f"{url}?schema={request.getfixturevalue('pg_schema')}",
                xb: f"{url}?schema={request.getfixturevalue('pg_schema_b')}"}
    return kafka_pair(tmp_path, bootstrap, xa, xb, urls)


def refusal_of(response: Response, status: int, code: str) -> dict[str, Any]:
    """The problem a refused step answers with, checked as CONTRACT.md words it: the status,
    `application/problem+json`, and the rule it names (409) or the one field it names (422;
    unchecked when `code` is empty)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    if status == 409:
        assert problem["rule"] == code
    elif status == 422 and code:
        assert [e["field"] for e in problem["errors"]] == [code]
    return problem


@dataclass(frozen=True)
class Refused:
    """A step the node must refuse: where, with what, and the status and rule (409) or
    field (422) it must name."""

    http: HttpNode
    case_id: str
    path: str
    body: dict[str, Any]
    status: int
    code: str
    role: str = "caseworker"


Refusal = Callable[[Pair], Refused]  # makes the case a step is then refused on




def known(http: HttpNode, case_id: str) -> dict[str, Any] | None:
    """The case's state at the node, or None where the node does not know the case."""
    response = http.get(f"/v1/cases/{case_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def refused_leaving_both_unchanged(p: Pair, refusal: Refused) -> None:
    """The step is refused as `refusal` says, and neither agency's case changed (nor came
    to be at the partner, where it was not yet)."""
    p.sync()
    before = [known(http, refusal.case_id) for http in (p.xa, p.xb)]
    assert before[0] is not None or before[1] is not None
    response = refusal.http.step(refusal.case_id, refusal.path, refusal.body, refusal.role)
    p.sync()
    refusal_of(response, refusal.status, refusal.code)
    assert [known(http, refusal.case_id) for http in (p.xa, p.xb)] == before


def refusals_test(*made: Refusal) -> Callable[[Pair, Refusal], None]:
    """The test that each refusal the functions `made` make names its rule or field and
    changes neither agency's case: run once per function, named by it. A test module
    binds it to a name of its own (`test_each_refusal_... = refusals_test(...)`)."""

    @pytest.mark.parametrize("refusal", made, ids=[f.__name__ for f in made])
    def test(nodes: Pair, refusal: Refusal) -> None:
        refused_leaving_both_unchanged(nodes, refusal(nodes))

    return test


def blocking_items(http: HttpNode, case_id: str, rule: str) -> list[tuple[str, str]]:
    """The case's items of `rule` as the agency's case view and its board show them."""
    state = [(b["rule"], b["owed_by"]) for b in http.state(case_id)["blocking"]]
    row = next(r for r in http.get("/v1/cases").json()["items"] if r["id"] == case_id)
    assert [(b["rule"], b["owed_by"]) for b in row["blocking"]] == state
    return [item for item in state if item[0] == rule]
