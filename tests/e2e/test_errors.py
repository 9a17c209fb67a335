"""Every error status of CONTRACT.md's table, as problem details, and never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest

from services.api.http.limits import MAX_BODY
from services.api.http.problems import PROBLEM_JSON
from tests.harness.http_nodes import XA, XB, Pair, open_case, opening, token


def problem_of(response, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:homeward:problem:")
    assert body["title"] and body["detail"]
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize("content", [b"{", b"\xff\xfe", b"kind=repatriation"])
def test_a_body_that_is_not_json_is_400(nodes: Pair, content: bytes) -> None:
    response = nodes.xa.client.post("/v1/cases", content=content, headers={
        **nodes.xa.headers(), "Content-Type": "application/json"})
    assert problem_of(response, 400)["type"].endswith("not-json")


def test_no_token_is_401(nodes: Pair) -> None:
    response = nodes.xa.client.get("/v1/cases")
    problem_of(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("bad", [
    "Basic dXNlcjpwdw==",
    "Bearer not-a-jwt",
    "Bearer " + jwt.encode({"sub": "x", "agency": XA, "roles": ["caseworker"],
                            "exp": datetime.now(UTC) + timedelta(hours=1)}, "another-node-secret-of-at-least-32-bytes"),
])
def test_a_token_that_does_not_verify_is_401(nodes: Pair, bad: str) -> None:
    problem_of(nodes.xa.client.get("/v1/cases", headers={"Authorization": bad}), 401)


def test_an_expired_token_is_401(nodes: Pair) -> None:
    old = token(nodes.xa.node, at=datetime.now(UTC) - timedelta(hours=3), hours=1)
    body = problem_of(nodes.xa.client.get("/v1/cases", headers={"Authorization": f"Bearer {old}"}),
                      401)
    assert "expired" in body["detail"]


@pytest.mark.parametrize("claims", [
    {"agency": XA, "roles": ["caseworker"]},  # no sub
    {"sub": "x", "roles": ["caseworker"]},  # no agency
    {"sub": "x", "agency": XA},  # no roles
    {"sub": "x", "agency": "nowhere", "roles": ["caseworker"]},
    {"sub": "x", "agency": XA, "roles": "caseworker"},
])
def test_a_token_missing_a_claim_is_401(nodes: Pair, claims: dict) -> None:  # type: ignore[type-arg]
    from services.bootstrap import jwt_secret

    signed = jwt.encode({**claims, "exp": datetime.now(UTC) + timedelta(hours=1)},
                        jwt_secret(nodes.xa.node.settings))
    problem_of(nodes.xa.client.get("/v1/cases", headers={"Authorization": f"Bearer {signed}"}),
               401)


def test_a_token_without_exp_is_401(nodes: Pair) -> None:
    from services.bootstrap import jwt_secret

    signed = jwt.encode({"sub": "x", "agency": XA, "roles": ["caseworker"]},
                        jwt_secret(nodes.xa.node.settings))
    problem_of(nodes.xa.client.get("/v1/cases", headers={"Authorization": f"Bearer {signed}"}),
               401)


def test_an_auditor_records_nothing(nodes: Pair) -> None:
    case_id = open_case(nodes)
    problem_of(nodes.xa.post("/v1/cases", opening(), role="auditor"), 403)
    problem_of(nodes.xa.step(case_id, "referral", {}, role="auditor"), 403)


def test_a_monitor_reads_no_case_of_an_agency(nodes: Pair) -> None:
    case_id = open_case(nodes)
    for path in ("/v1/cases", f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/timeline",
                 "/v1/handoffs", "/v1/audit/verify"):
        problem_of(nodes.xa.get(path, role="monitor"), 403)


def test_only_a_supervisor_records_a_risk_to_life_override(nodes: Pair) -> None:
    case_id = open_case(nodes)
    body = {"justification": "Imminent threat to life."}
    problem_of(nodes.xa.step(case_id, "risk-to-life-override", body), 403)
    assert nodes.xa.step(case_id, "risk-to-life-override", body, "supervisor").status_code == 200


def test_only_an_auditor_verifies_the_store(nodes: Pair) -> None:
    problem_of(nodes.xa.get("/v1/audit/verify", "caseworker"), 403)


def test_the_partners_step_is_403_step_owner(nodes: Pair) -> None:
    body = problem_of(nodes.xa.step(open_case(nodes), "acceptance", {}), 403)
    assert body["rule"] == "step-owner"


def test_an_unknown_case_is_404(nodes: Pair) -> None:
    for response in (nodes.xa.get(f"/v1/cases/{uuid4()}"),
                     nodes.xa.get(f"/v1/cases/{uuid4()}/timeline"),
                     nodes.xa.step(uuid4(), "referral", {})):
        problem_of(response, 404)


def test_another_agencys_token_sees_no_case(nodes: Pair) -> None:
    # Signed with XA's own secret, but for XB: a forgery, refused before any route.
    case_id = open_case(nodes)
    theirs = {"Authorization": f"Bearer {token(nodes.xa.node, 'supervisor', agency=XB)}"}
    client = nodes.xa.client
    problem_of(client.get(f"/v1/cases/{case_id}", headers=theirs), 401)
    problem_of(client.get(f"/v1/cases/{case_id}/timeline", headers=theirs), 401)
    problem_of(client.post(f"/v1/cases/{case_id}/referral", json={}, headers=theirs), 401)
    problem_of(client.get("/v1/cases", headers=theirs), 401)
    problem_of(client.post("/v1/cases", json=opening(receiving_agency=XA), headers=theirs), 401)
    assert nodes.xa.state(case_id)["version"] == 1


def test_a_stale_if_match_is_412_and_changes_nothing(nodes: Pair) -> None:
    case_id = open_case(nodes)
    consent = {"scopes": ["refer"], "language": "en", "interpreter": False, "given_by": "person"}
    assert nodes.xa.step(case_id, "consent", consent, **{"If-Match": '"1"'}).status_code == 200
    for stale in ('"1"', "1", '"abc"', '"-1"', 'W/"9"'):
        problem_of(nodes.xa.step(case_id, "referral", {}, **{"If-Match": stale}), 412)
    assert nodes.xa.state(case_id)["version"] == 2
    assert nodes.xa.step(case_id, "referral", {}, **{"If-Match": '"2"'}).status_code == 200


def test_the_etag_is_the_version(nodes: Pair) -> None:
    case_id = open_case(nodes)
    assert nodes.xa.get(f"/v1/cases/{case_id}").headers["etag"] == '"1"'


def test_a_declared_body_over_64_kib_is_413(nodes: Pair) -> None:
    body = opening(reason="x" * (MAX_BODY + 1))
    problem_of(nodes.xa.post("/v1/cases", body), 413)


def test_a_streamed_body_over_64_kib_is_413(nodes: Pair) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"reason": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = nodes.xa.client.post("/v1/cases", content=chunks(), headers=nodes.xa.headers())
    assert "content-length" not in response.request.headers
    problem_of(response, 413)


def test_each_bad_field_is_named_in_a_422(nodes: Pair) -> None:
    bad = opening(kind="holiday", minor="perhaps", extra="no")
    bad["person"] = {**bad["person"], "date_of_birth": "14/07/2010", "nationality": "Nigeria"}
    del bad["urgency"]
    body = problem_of(nodes.xa.post("/v1/cases", bad), 422)
    assert {e["field"] for e in body["errors"]} == {
        "kind", "minor", "extra", "person.date_of_birth", "person.nationality", "urgency"}
    assert all(e["message"] for e in body["errors"])


def test_dates_past_what_a_case_can_hold_are_422(nodes: Pair) -> None:
    person = {**opening()["person"], "date_of_birth": "1066-10-14"}
    body = problem_of(nodes.xa.post("/v1/cases", opening(person=person)), 422)
    assert body["errors"][0]["field"] == "person.date_of_birth"
    late = {"departed_at": "9999-12-31T20:00:00+00:00"}
    body = problem_of(nodes.xa.step(open_case(nodes), "departure", late), 422)
    assert body["errors"] == [{"field": "departed_at",
                               "message": "must lie between 1900-01-01 and 2199-12-31"}]


def test_a_step_body_of_the_wrong_shape_is_422(nodes: Pair) -> None:
    case_id = open_case(nodes)
    body = problem_of(nodes.xa.step(case_id, "consent", {"scopes": ["everything"]}), 422)
    assert {e["field"] for e in body["errors"]} >= {"scopes.0", "language", "interpreter"}
    problem_of(nodes.xa.step(case_id, "consent", ["refer"]), 422)


def test_a_bad_query_is_422(nodes: Pair) -> None:
    body = problem_of(nodes.xa.get("/v1/cases", limit=0, status="lost"), 422)
    assert {e["field"] for e in body["errors"]} == {"query.limit", "query.status"}


def test_a_version_past_any_store_integer_is_422(nodes: Pair) -> None:
    case_id = open_case(nodes)
    body = problem_of(nodes.xa.get(f"/v1/cases/{case_id}", version=2**63), 422)
    assert body["errors"][0]["field"] == "query.version"
    too_far = nodes.xa.step(case_id, "risk-assessment", {"level": "low", "valid_until": "2026-01-01"},
                            **{"If-Match": f'"{10**40}"'})
    problem_of(too_far, 412)


def test_unknown_paths_and_methods_are_problems_too(nodes: Pair) -> None:
    problem_of(nodes.xa.get("/v1/nothing"), 404)
    problem_of(nodes.xa.client.delete("/v1/cases", headers=nodes.xa.headers()), 405)
