"""Opening a case over HTTP: the refusals CONTRACT.md and DOMAIN.md give it."""

from __future__ import annotations

from uuid import uuid4

from services.api.http.problems import PROBLEM_JSON
from tests.harness.http_nodes import XA, Pair, opening


def test_an_id_already_taken_is_409_and_the_first_case_stands(nodes: Pair) -> None:
    case_id = str(uuid4())
    assert nodes.xa.post("/v1/cases", opening(id=case_id)).status_code == 201
    again = nodes.xa.post("/v1/cases", opening(id=case_id, kind="referral"))
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == PROBLEM_JSON
    assert again.json()["type"] == "urn:homeward:problem:concurrent-change"
    state = nodes.xa.state(case_id)
    assert (state["version"], state["kind"]) == (1, "repatriation")


def test_a_case_is_not_opened_with_ones_own_agency(nodes: Pair) -> None:
    response = nodes.xa.post("/v1/cases", opening(receiving_agency=XA))
    assert response.status_code == 403, response.text
    assert response.json()["rule"] == "step-owner"
    assert nodes.xa.get("/v1/cases").json()["total"] == 0
