"""The agency's casework over HTTP on two nodes: assignment and the board's `assigned_to`
filter, overdue cases per assignee on /metrics, and four-eyes approval requests (a
caseworker's risk downgrade approved by a supervisor, refused to its own requester, and
refused with the rule that no longer holds at the decision)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from httpx import Response

from services.anchors.case_file import case_file
from services.api.http.problems import PROBLEM_JSON
from services.network.demo_cases import repatriation
from tests.harness.http_nodes import XA, XB, HttpNode, Pair, kafka_pair, open_case, play, token

ANNA, PAT, SARA, SUE = "anna", "pat", "sara", "sue"  # caseworkers and supervisors of XA


def as_user(http: HttpNode, sub: str, role: str = "caseworker") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(http.node, role, sub=sub)}"}


def post(http: HttpNode, path: str, body: Any, sub: str, role: str = "caseworker") -> Response:
    return http.client.post(path, json=body, headers=as_user(http, sub, role))


def board(http: HttpNode, sub: str, **params: Any) -> dict[str, Any]:
    response = http.client.get("/v1/cases", params=params, headers=as_user(http, sub))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def refused(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem.get("rule", problem.get("type", "")).endswith(code), problem


def test_a_case_is_assigned_and_the_board_filters_by_assignee(nodes: Pair) -> None:
    xa = nodes.xa
    mine, other = open_case(nodes), open_case(nodes)
    taken = post(xa, f"/v1/cases/{mine}/assignment", {"assigned_to": ANNA}, ANNA)
    assert taken.status_code == 200, taken.text
    # A caseworker assigns no one else, and takes no case someone holds.
    version = xa.state(other)["version"]
    refused(post(xa, f"/v1/cases/{other}/assignment", {"assigned_to": PAT}, ANNA), 403,
            "forbidden")
    refused(post(xa, f"/v1/cases/{mine}/assignment", {"assigned_to": PAT}, PAT), 409,
            "assignment")
    assert xa.state(other)["version"] == version
    assert post(xa, f"/v1/cases/{other}/assignment", {"assigned_to": PAT}, SARA,
                "supervisor").status_code == 200
    assert xa.state(mine)["assigned_to"] == ANNA and xa.state(other)["assigned_to"] == PAT

    assert [c["id"] for c in board(xa, ANNA, assigned_to="me")["items"]] == [mine]
    assert [c["id"] for c in board(xa, ANNA, assigned_to=PAT)["items"]] == [other]
    assert {c["assigned_to"] for c in board(xa, ANNA)["items"]} == {ANNA, PAT}
    assert board(xa, "nobody", assigned_to="me")["total"] == 0
    # Assignment is on the record, and stays with the agency.
    assigned = [e for e in xa.timeline(mine) if e["type"] == "CaseAssigned"]
    assert [(e["actor"], e["data"]) for e in assigned] == [(ANNA, {"assigned_to": ANNA})]


def test_overdue_cases_are_counted_per_assignee_on_metrics(nodes: Pair) -> None:
    story = repatriation(nodes.clock.now().date())
    late, unassigned = open_case(nodes), open_case(nodes)
    for case_id in (late, unassigned):
        play(nodes, case_id, story.moves[:2])  # consent, referral: acknowledgement is due
    assert post(nodes.xa, f"/v1/cases/{late}/assignment", {"assigned_to": PAT}, SARA,
                "supervisor").status_code == 200
    nodes.clock.advance(days=3)
    text = nodes.xa.client.get("/metrics").text
    assert 'homeward_overdue_cases_by_assignee{assignee="pat"} 1.0' in text
    assert 'homeward_overdue_cases_by_assignee{assignee="unassigned"} 1.0' in text


def downgrade(nodes: Pair) -> tuple[str, dict[str, Any]]:
    """A case whose referring risk assessment is `high`, and a body that lowers it."""
    story = repatriation(nodes.clock.now().date())
    case_id = open_case(nodes)
    play(nodes, case_id, story.moves[:[m.path for m in story.moves].index("return-decision")])
    body = next(m.body for m in story.moves if m.path == "risk-assessment")
    return case_id, {**body, "level": "medium", "justification": "the trafficker was convicted"}


def ask(nodes: Pair, case_id: str, body: dict[str, Any], sub: str = ANNA,
        role: str = "caseworker") -> str:
    response = post(nodes.xa, f"/v1/cases/{case_id}/approval-requests",
                    {"step": "risk-assessment", "body": body, "reason": "threat ended"},
                    sub, role)
    assert response.status_code == 201, response.text
    request_id: str = response.json()["request_id"]
    return request_id


def pending(nodes: Pair) -> list[dict[str, Any]]:
    response = nodes.xa.client.get("/v1/approvals", params={"status": "pending"}, headers={
        **as_user(nodes.xa, SARA, "supervisor"), "X-Purpose": "approvals queue"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_caseworkers_downgrade_approved_by_a_supervisor_arrives_like_any(
        nodes: Pair) -> None:
    case_id, body = downgrade(nodes)
    refused(nodes.xa.step(case_id, "risk-assessment", body), 409, "risk-downgrade-justified")
    request_id = ask(nodes, case_id, body)
    blocking = nodes.xa.state(case_id)["blocking"]
    assert {"rule": "approval-pending", "owed_by": "XA-NRM"} in [
        {k: b[k] for k in ("rule", "owed_by")} for b in blocking]
    assert [(i["id"], i["case_id"], i["requested_by"], i["reason"], i["body"]["level"])
            for i in pending(nodes)] == [(request_id, case_id, ANNA, "threat ended", "medium")]
    # What is asked is personal: the supervisor's read of it is in the access log.
    access = nodes.xa.client.get("/v1/audit/access", params={"case": case_id},
                                 headers=as_user(nodes.xa, "audrey", "auditor")).json()
    assert ("approvals", SARA, "approvals queue") in [
        (e["what"], e["sub"], e["purpose"]) for e in access["entries"]]
    refused(nodes.xa.client.get("/v1/approvals", headers=as_user(nodes.xa, PAT)), 403,
            "forbidden")
    # Another caseworker cannot approve; the supervisor can.
    refused(post(nodes.xa, f"/v1/approvals/{request_id}/decision", {"decision": "approved"},
                 PAT), 403, "forbidden")
    decided = post(nodes.xa, f"/v1/approvals/{request_id}/decision",
                   {"decision": "approved", "note": "conviction on file"}, SARA, "supervisor")
    assert decided.status_code == 200, decided.text
    assert pending(nodes) == []
    step = nodes.xa.timeline(case_id)[-1]
    assert (step["type"], step["actor"], step["approved_by"]) == ("RiskAssessed", ANNA, SARA)
    assert step["data"]["level"] == "medium"
    assert "approval-pending" not in [b["rule"] for b in nodes.xa.state(case_id)["blocking"]]
    # In the audit export, and the chain (which covers `approved_by`) still verifies.
    node = nodes.xa.node
    assert node.signing is not None
    exported = json.loads(case_file(node.audit(), UUID(case_id), "json", False, node.signing,
                                    "audrey", "audit", nodes.clock.now()))
    rows = [r for r in exported["events"] if r["type"] == "RiskAssessed"]
    assert (rows[-1]["actor"], rows[-1]["approved_by"]) == (ANNA, SARA)
    verified = nodes.xa.client.get("/v1/audit/verify",
                                   headers=as_user(nodes.xa, "audrey", "auditor"))
    assert verified.status_code == 200 and verified.json()["ok"], verified.text
    # At the partner it is a risk assessment like any other, and nothing of the casework.
    nodes.sync()
    there = nodes.xb.timeline(case_id)
    assert there[-1]["type"] == "RiskAssessed" and there[-1]["approved_by"] is None
    assert there[-1]["data"]["level"] == "medium" and "justification" not in there[-1]["data"]
    assert not {"ApprovalRequested", "ApprovalDecided", "CaseAssigned"} & {
        e["type"] for e in there}


def test_the_requester_never_decides_their_own_request(nodes: Pair) -> None:
    case_id, body = downgrade(nodes)
    request_id = ask(nodes, case_id, body, SARA, "supervisor")
    length = len(nodes.xa.timeline(case_id))
    refused(post(nodes.xa, f"/v1/approvals/{request_id}/decision", {"decision": "approved"},
                 SARA, "supervisor"), 409, "four-eyes")
    assert len(nodes.xa.timeline(case_id)) == length
    assert [i["id"] for i in pending(nodes)] == [request_id]
    rejected = post(nodes.xa, f"/v1/approvals/{request_id}/decision",
                    {"decision": "rejected", "note": "not yet"}, SUE, "supervisor")
    assert rejected.status_code == 200, rejected.text
    last = nodes.xa.timeline(case_id)[-1]
    assert last["type"] == "ApprovalDecided" and last["data"]["decision"] == "rejected"
    assert len(nodes.xa.timeline(case_id)) == length + 1  # nothing but the decision
    refused(post(nodes.xa, f"/v1/approvals/{request_id}/decision", {"decision": "approved"},
                 SUE, "supervisor"), 404, "not-found")


def test_a_rule_that_no_longer_holds_refuses_the_approval_and_keeps_it_pending(
        nodes: Pair) -> None:
    case_id, body = downgrade(nodes)
    request_id = ask(nodes, case_id, body)
    version = nodes.xa.state(case_id)["version"]
    nodes.clock.advance(days=(nodes.clock.now().date().fromisoformat(body["valid_until"])
                              - nodes.clock.now().date()).days + 1)
    refused(post(nodes.xa, f"/v1/approvals/{request_id}/decision", {"decision": "approved"},
                 SARA, "supervisor"), 409, "risk-assessment-required")
    assert nodes.xa.state(case_id)["version"] == version
    assert [i["id"] for i in pending(nodes)] == [request_id]


def test_a_request_is_refused_when_the_step_as_asked_breaks_a_rule(nodes: Pair) -> None:
    case_id, body = downgrade(nodes)
    no_reason = {k: v for k, v in body.items() if k != "justification"}
    response = post(nodes.xa, f"/v1/cases/{case_id}/approval-requests",
                    {"step": "risk-assessment", "body": no_reason, "reason": "why"}, ANNA)
    refused(response, 409, "risk-downgrade-justified")
    consent = post(nodes.xa, f"/v1/cases/{case_id}/approval-requests",
                   {"step": "consent", "body": {}, "reason": "why"}, ANNA)
    assert consent.status_code == 422, consent.text
    unknown = post(nodes.xa, f"/v1/cases/{case_id}/approval-requests",
                   {"step": "nothing", "body": {}, "reason": "why"}, ANNA)
    assert unknown.status_code in (404, 422), unknown.text


def test_a_request_goes_with_the_case_erasure(nodes: Pair) -> None:
    case_id, body = downgrade(nodes)
    canary = "Zzyzx-request-canary"
    response = post(nodes.xa, f"/v1/cases/{case_id}/approval-requests",
                    {"step": "risk-assessment", "body": {**body, "justification": canary},
                     "reason": canary}, ANNA)
    assert response.status_code == 201, response.text
    request_id = response.json()["request_id"]
    assert canary in json.dumps(nodes.xa.timeline(case_id))
    erased = post(nodes.xa, f"/v1/cases/{case_id}/erasure", {"reason": "subject-request"},
                  SARA, "supervisor")
    assert erased.status_code == 200, erased.text
    asked = next(e for e in nodes.xa.timeline(case_id) if e["type"] == "ApprovalRequested")
    assert asked["data"]["body"] == "[erased]" and asked["data"]["reason"] == "[erased]"
    assert canary not in json.dumps(nodes.xa.timeline(case_id))
    assert pending(nodes) == []  # nothing follows an erasure, no decision either
    assert "approval-pending" not in [b["rule"] for b in nodes.xa.state(case_id)["blocking"]]
    refused(post(nodes.xa, f"/v1/approvals/{request_id}/decision", {"decision": "approved"},
                 SUE, "supervisor"), 404, "not-found")


@pytest.mark.kafka
def test_an_approved_downgrade_crosses_the_broker_like_any_assessment(
        tmp_path: Path, kafka_bootstrap: str) -> None:
    """Over the real relay, broker and inbox: the partner validates, records and receipts
    the approved step as any risk assessment; nothing of the casework reaches it."""
    nodes = kafka_pair(tmp_path, kafka_bootstrap, XA, XB)
    try:
        case_id, body = downgrade(nodes)
        request_id = ask(nodes, case_id, body)
        decided = post(nodes.xa, f"/v1/approvals/{request_id}/decision",
                       {"decision": "approved"}, SARA, "supervisor")
        assert decided.status_code == 200, decided.text
        nodes.sync()
        there = nodes.xb.timeline(case_id)[-1]
        assert (there["type"], there["approved_by"]) == ("RiskAssessed", None)
        assert there["data"]["level"] == "medium" and there["data"]["side"] == "referring"
        assert not {"ApprovalRequested", "ApprovalDecided"} & {
            e["type"] for e in nodes.xb.timeline(case_id)}
        deadline = time.monotonic() + 20  # the partner's receipt comes back
        while nodes.xa.timeline(case_id)[-1]["delivered_at"] is None:
            assert time.monotonic() < deadline, "no receipt for the approved step"
            time.sleep(0.05)
        mine = nodes.xa.timeline(case_id)[-1]
        assert (mine["actor"], mine["approved_by"], mine["shared"]) == (ANNA, SARA, True)
    finally:
        nodes.close()
