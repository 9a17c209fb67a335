"""`Idempotency-Key`: a retried POST replays the first response and records nothing
more; the key reused with another request is a 422."""

from __future__ import annotations

from services.api.http.problems import PROBLEM_JSON
from tests.harness.http_nodes import Pair, http_node, open_case, opening, token


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


def test_a_key_older_than_a_day_is_a_new_request(nodes: Pair) -> None:
    first = nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "daily"})
    nodes.clock.advance(hours=23)
    assert nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "daily"}).headers[
        "idempotent-replayed"] == "true"
    nodes.clock.advance(hours=2)
    again = nodes.xa.post("/v1/cases", opening(), **{"Idempotency-Key": "daily"})
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]


def test_a_replay_checks_the_callers_roles_again(nodes: Pair) -> None:
    def as_ana(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(nodes.xa.node, role, sub='ana')}",
                "Idempotency-Key": "mine"}

    first = nodes.xa.client.post("/v1/cases", json=opening(), headers=as_ana("caseworker"))
    assert first.status_code == 201
    # Ana is an auditor now: she may not open cases, so she gets no answer of one either.
    replay = nodes.xa.client.post("/v1/cases", json=opening(), headers=as_ana("auditor"))
    assert replay.status_code == 403
    assert replay.headers["content-type"] == PROBLEM_JSON
    assert first.json()["id"] not in replay.text
    assert nodes.xa.get("/v1/cases").json()["total"] == 1
