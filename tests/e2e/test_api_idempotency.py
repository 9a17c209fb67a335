"""`Idempotency-Key`: a retried POST replays the first response and records nothing
more; the key reused with another request is a 422."""

from __future__ import annotations

from services.api.problems import PROBLEM_JSON
from tests.harness.http_nodes import Pair, http_node, open_case, opening


def test_the_same_key_and_body_replay_the_first_response(nodes: Pair) -> None:
    first = nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "open-1"})
    again = nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "open-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert nodes.xa.get("/v1/cases").json()["total"] == 1


def test_a_replayed_step_is_recorded_once(nodes: Pair) -> None:
    case_id = open_case(nodes)
    body = {"level": "low", "factors": [], "valid_until": "2025-12-31"}
    for _ in range(3):
        response = nodes.xa.step(case_id, "risk-assessment", body, **{"Idempotency-Key": "r-1"})
        assert response.status_code == 200 and response.json()["version"] == 2
    assert len(nodes.xa.timeline(case_id)) == 2


def test_the_same_key_with_another_body_is_422(nodes: Pair) -> None:
    nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "k"})
    response = nodes.xa.post("/v1/cases", opening(urgency="urgent"), **{"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert nodes.xa.get("/v1/cases").json()["total"] == 1


def test_the_same_key_on_another_path_is_422(nodes: Pair) -> None:
    case_id = open_case(nodes)
    assert nodes.xa.step(case_id, "referral", {}, **{"Idempotency-Key": "k"}).status_code == 409
    consent = {"scopes": ["refer"], "language": "en", "interpreter": False, "given_by": "person"}
    assert nodes.xa.step(case_id, "consent", consent, **{"Idempotency-Key": "k2"}).status_code == 200
    assert nodes.xa.step(case_id, "referral", {}, **{"Idempotency-Key": "k2"}).status_code == 422


def test_a_refused_command_is_not_kept_so_a_retry_asks_again(nodes: Pair) -> None:
    case_id = open_case(nodes)
    assert nodes.xa.step(case_id, "referral", {}, **{"Idempotency-Key": "ref"}).status_code == 409
    consent = {"scopes": ["refer"], "language": "en", "interpreter": False, "given_by": "person"}
    assert nodes.xa.step(case_id, "consent", consent).status_code == 200
    assert nodes.xa.step(case_id, "referral", {}, **{"Idempotency-Key": "ref"}).status_code == 200


def test_keys_belong_to_their_user(nodes: Pair) -> None:
    mine = nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "same"})
    theirs = nodes.xa.post("/v1/cases", opening(), role="supervisor", **{"Idempotency-Key": "same"})
    assert theirs.status_code == 201 and theirs.json()["id"] != mine.json()["id"]


def test_keys_survive_a_restart(nodes: Pair, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "durable"})
    restarted = http_node(tmp_path / "xa", "XA-NRM", nodes.clock)
    try:
        again = restarted.post("/v1/cases", opening(), **{"Idempotency-Key": "durable"})
        assert again.status_code == 201 and again.json() == first.json()
    finally:
        restarted.client.close()
        restarted.node.close()


def test_an_unusable_key_is_422(nodes: Pair) -> None:
    response = nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "k" * 300})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
