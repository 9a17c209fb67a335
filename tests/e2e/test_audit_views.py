"""The auditor's view over HTTP: a case and its timeline as the agency knew them at a
moment (`?as_of=`), and who read the case's personal data, when and why
(`GET /v1/audit/access`); with the refusals of other roles and of bad input."""

from __future__ import annotations

from datetime import timedelta

from tests.harness.builders import bodies
from tests.harness.http_nodes import START, Pair, open_case


def referred(p: Pair) -> str:
    """Opened at START, consented an hour later, referred two hours later."""
    case_id = open_case(p)
    for path in ("consent", "referral"):
        p.clock.advance(hours=1)
        assert p.xa.step(case_id, path, bodies(START)[path]).status_code == 200
    p.sync()
    return case_id


def at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def test_a_case_and_its_timeline_read_as_the_agency_knew_them(nodes: Pair) -> None:
    case_id = referred(nodes)
    then = nodes.xa.get(f"/v1/cases/{case_id}", as_of=at(1.5)).json()
    assert (then["version"], then["status"], then["consent"] != []) == (2, "opened", True)
    assert nodes.xa.get(f"/v1/cases/{case_id}", as_of=at(0.5)).json()["version"] == 1
    timeline = nodes.xa.get(f"/v1/cases/{case_id}/timeline", as_of=at(1.5)).json()["events"]
    assert [e["type"] for e in timeline] == ["CaseOpened", "ConsentRecorded"]
    now = nodes.xa.get(f"/v1/cases/{case_id}/timeline").json()["events"]
    assert len(now) == 3
    # The partner knew nothing of the case before its facts arrived (at sync, START + 2 h).
    assert nodes.xb.get(f"/v1/cases/{case_id}", as_of=at(1.5)).status_code == 404
    assert nodes.xb.get(f"/v1/cases/{case_id}/timeline", as_of=at(2)).status_code == 200


def test_a_bad_moment_is_a_422_problem(nodes: Pair) -> None:
    case_id = referred(nodes)
    for path in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/timeline"):
        for bad in ("yesterday", "2025-03-03T10:00:00", "2025-02-30T10:00:00Z"):
            response = nodes.xa.get(path, as_of=bad)
            assert response.status_code == 422, (path, bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"][0]["field"] == "query.as_of"
    both = nodes.xa.get(f"/v1/cases/{case_id}", as_of=at(1), at=at(1))
    assert both.status_code == 422
    assert nodes.xa.get(f"/v1/cases/{case_id}", as_of=at(-1)).status_code == 404


def test_the_auditor_sees_who_read_the_personal_data_when_and_why(nodes: Pair) -> None:
    case_id = referred(nodes)
    headers = nodes.xa.headers("caseworker", **{"X-Purpose": "court order 7"})
    assert nodes.xa.client.get(f"/v1/cases/{case_id}", headers=headers).status_code == 200
    nodes.xa.get(f"/v1/cases/{case_id}/timeline", "supervisor")
    response = nodes.xa.get("/v1/audit/access", "auditor", case=case_id)
    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert [(e["sub"], e["what"], e["purpose"]) for e in entries] == [
        ("xa-nrm-caseworker", "case", "court order 7"), ("xa-nrm-supervisor", "timeline", None)]
    assert entries[0]["agency"] == "XA-NRM" and entries[0]["at"].startswith("2025-03-03T11:00")


def test_only_auditors_read_the_access_log_and_bad_input_is_refused(nodes: Pair) -> None:
    case_id = referred(nodes)
    for role in ("caseworker", "supervisor"):
        assert nodes.xa.get("/v1/audit/access", role, case=case_id).status_code == 403
        assert nodes.xa.get("/v1/audit/cross-check", role, case=case_id).status_code == 403
        assert nodes.xa.get("/v1/audit/verify", role).status_code == 403
    assert nodes.xa.get("/v1/audit/access", "auditor", case="not-a-case").status_code == 422
    assert nodes.xa.get("/v1/audit/access", "auditor").status_code == 422
    unknown = "00000000-0000-4000-8000-000000000000"
    assert nodes.xa.get("/v1/audit/access", "auditor", case=unknown).status_code == 404
    # Another agency's auditor sees nothing here.
    assert nodes.xb.get("/v1/audit/access", "auditor", case=case_id).json()["entries"] == []
