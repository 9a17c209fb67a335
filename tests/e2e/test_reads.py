"""Reading cases: personal data only for the agency's caseworkers and supervisors,
each such read recorded; the state as it was; the board and the hand-offs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.network.demo_cases import repatriation
from tests.harness.http_nodes import XB, Pair, open_case, play


def test_person_only_for_caseworkers_and_supervisors(nodes: Pair) -> None:
    case_id = open_case(nodes)
    assert nodes.xa.get(f"/v1/cases/{case_id}").json()["person"]["family_name"] == "Okafor"
    assert nodes.xa.get(f"/v1/cases/{case_id}", "supervisor").json()["person"] is not None
    assert nodes.xa.get(f"/v1/cases/{case_id}", "auditor").json()["person"] is None


def test_an_auditor_sees_the_timeline_without_personal_data(nodes: Pair) -> None:
    case_id = open_case(nodes)
    opened = nodes.xa.timeline(case_id, "auditor")[0]
    assert opened["type"] == "CaseOpened" and set(opened["redacted"]) == {"person", "reason"}
    assert "person" not in opened["data"] and "Okafor" not in str(opened)
    assert nodes.xa.timeline(case_id)[0]["data"]["person"]["family_name"] == "Okafor"


def test_every_read_of_personal_data_is_recorded_with_its_purpose(nodes: Pair) -> None:
    case_id = open_case(nodes)
    headers = nodes.xa.headers("caseworker", **{"X-Purpose": "preparing the referral"})
    nodes.xa.client.get(f"/v1/cases/{case_id}", headers=headers)
    nodes.xa.client.get(f"/v1/cases/{case_id}/timeline",
                        headers=nodes.xa.headers("caseworker", **{"X-Purpose": "court order 7"}))
    nodes.xa.get(f"/v1/cases/{case_id}", "auditor")  # no personal data: nothing to record
    log = nodes.xa.node.access_log.of_case(UUID(case_id))
    assert [(a.what, a.purpose, a.sub) for a in log] == [
        ("case", "preparing the referral", "xa-nrm-caseworker"),
        ("timeline", "court order 7", "xa-nrm-caseworker")]
    assert all(a.at == nodes.clock.now().isoformat() for a in log)
    assert "Okafor" not in str(log)
    # The purpose is the reader's own words: kept encrypted, like personal data.
    stored = nodes.xa.node.tables.run("SELECT purpose FROM homeward_access_log").rows
    assert len(stored) == 2 and not any("court order" in str(row) for row in stored)
    bad = nodes.xa.client.get(f"/v1/cases/{case_id}",
                              headers=nodes.xa.headers("caseworker", **{"X-Purpose": "a\tb"}))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "header.X-Purpose"


def test_a_purpose_in_the_url_is_refused_not_recorded(nodes: Pair) -> None:
    """In the URL a purpose lands in every proxy's log, out of erasure's reach."""
    case_id = open_case(nodes)
    for path in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/timeline"):
        refused = nodes.xa.get(path, purpose="court order 7")
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "X-Purpose" in refused.json()["detail"]
        assert refused.json()["errors"][0]["field"] == "query.purpose"
    assert nodes.xa.node.access_log.of_case(UUID(case_id)) == []


def test_the_state_as_it_was_by_version_and_by_time(nodes: Pair) -> None:
    case_id = open_case(nodes)
    opened_at = nodes.clock.now()
    play(nodes, case_id, repatriation(opened_at.date()).moves[:2])  # consent, referral
    assert nodes.xa.state(case_id)["status"] == "referred"
    then = nodes.xa.get(f"/v1/cases/{case_id}", version=1)
    assert then.json()["status"] == "opened" and then.headers["etag"] == '"1"'
    at = nodes.xa.get(f"/v1/cases/{case_id}", at=(opened_at + timedelta(minutes=30)).isoformat())
    # Consent came with the opening at 09:00, the referral an hour later.
    assert at.json()["version"] == 2 and at.json()["status"] == "opened"
    assert at.json()["as_of"].startswith("2025-03-03T09:30")
    before = nodes.xa.get(f"/v1/cases/{case_id}", at=(opened_at - timedelta(days=1)).isoformat())
    assert before.status_code == 404
    assert nodes.xa.get(f"/v1/cases/{case_id}", version=4).status_code == 404
    both = nodes.xa.get(f"/v1/cases/{case_id}", version=1, at=opened_at.isoformat())
    assert both.status_code == 422


def test_the_state_shows_what_blocks_and_who_owes_it(nodes: Pair) -> None:
    case_id = open_case(nodes)
    play(nodes, case_id, repatriation(nodes.clock.now().date()).moves[:2])
    state = nodes.xa.state(case_id)
    assert state["blocking"] == [{"rule": "sequence", "owed_by": XB,
                                  "detail": "acknowledgement of the referral"}]
    nodes.clock.advance(days=3)
    overdue = nodes.xa.state(case_id)["overdue"]
    assert [(c["name"], c["owed_by"]) for c in overdue] == [("acknowledge referral", XB)]


def test_the_board_filters_and_pages(nodes: Pair) -> None:
    referred = open_case(nodes)
    play(nodes, referred, repatriation(nodes.clock.now().date()).moves[:2])
    opened = [open_case(nodes) for _ in range(3)]
    board = nodes.xa.get("/v1/cases").json()
    ids = [i["id"] for i in board["items"]]  # most recently changed first
    assert board["total"] == 4 and sorted(ids) == sorted([referred, *opened])
    assert "person" not in str(board)
    page = nodes.xa.get("/v1/cases", limit=2, offset=1).json()
    assert [i["id"] for i in page["items"]] == ids[1:3] and page["total"] == 4
    assert [i["id"] for i in nodes.xa.get("/v1/cases", status="referred").json()["items"]] == [
        referred]
    assert nodes.xa.get("/v1/cases", partner=XB).json()["total"] == 4
    assert nodes.xa.get("/v1/cases", partner="XC-NRM").json()["total"] == 0
    assert nodes.xa.get("/v1/cases", overdue="true").json()["total"] == 0
    nodes.clock.advance(days=3)
    late = nodes.xa.get("/v1/cases", overdue="true").json()
    assert [i["id"] for i in late["items"]] == [referred]
    assert nodes.xb.get("/v1/cases").json()["items"][0]["side"] == "receiving"


def test_the_board_sorts_and_filters_open_cases(nodes: Pair) -> None:
    first, second = open_case(nodes), open_case(nodes)
    nodes.clock.advance(minutes=5)
    play(nodes, first, repatriation(nodes.clock.now().date()).moves[:1])
    recent = [i["id"] for i in nodes.xa.get("/v1/cases", sort="recent").json()["items"]]
    oldest = [i["id"] for i in nodes.xa.get("/v1/cases", sort="oldest").json()["items"]]
    assert recent == [first, second] and oldest == [second, first]
    assert nodes.xa.get("/v1/cases", open="true").json()["total"] == 2
    assert nodes.xa.get("/v1/cases", open="false").json()["total"] == 0
    assert len(nodes.xa.get("/v1/cases", sort="overdue").json()["items"]) == 2
    assert nodes.xa.get("/v1/handoffs", sort="departed", partner=XB).json()["total"] == 0


def test_a_bad_filter_sort_or_page_is_refused_with_422(nodes: Pair) -> None:
    bad: list[tuple[str, dict[str, Any]]] = [
        ("/v1/cases", {"sort": "name"}), ("/v1/cases", {"status": "lost"}),
        ("/v1/cases", {"limit": 0}), ("/v1/cases", {"limit": 201}),
        ("/v1/cases", {"offset": -1}), ("/v1/cases", {"overdue": "maybe"}),
        ("/v1/cases", {"open": "perhaps"}), ("/v1/cases", {"partner": "xb-nrm"}),
        ("/v1/cases", {"statuz": "referred"}), ("/v1/handoffs", {"sort": "recent"}),
        ("/v1/handoffs", {"status": "referred"}), ("/v1/handoffs", {"offset": "x"}),
        ("/v1/handoffs", {"partner": "<b>"})]
    for path, params in bad:
        answer = nodes.xa.get(path, **params)
        assert answer.status_code == 422, (path, params, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        field = next(iter(params))
        assert any(field in e["field"] for e in answer.json()["errors"]), answer.json()


def test_the_openapi_document_declares_the_board_and_hand_off_parameters(nodes: Pair) -> None:
    paths = nodes.xa.client.get("/openapi.json").json()["paths"]
    for path, names, sorts in (
            ("/v1/cases", {"status", "open", "overdue", "partner", "sort", "assigned_to",
                           "limit", "offset"},
             ["urgent", "recent", "oldest", "overdue"]),
            ("/v1/handoffs", {"overdue", "partner", "sort", "limit", "offset"},
             ["overdue", "departed"])):
        declared = {p["name"]: p for p in paths[path]["get"]["parameters"] if p["in"] == "query"}
        assert set(declared) == names
        assert declared["sort"]["schema"]["enum"] == sorts
        assert declared["limit"]["schema"]["maximum"] == 200
        assert declared["partner"]["schema"]["anyOf"][0]["pattern"]


def test_handoffs_list_persons_in_transit_and_overdue_arrivals(nodes: Pair) -> None:
    story = repatriation(nodes.clock.now().date(), minor=True)
    case_id = open_case(nodes, minor=True)
    departure = [m.path for m in story.moves].index("departure")
    play(nodes, case_id, story.moves[:departure + 1])
    # The story's journey was yesterday: look at the hand-offs an hour after departure.
    departed = datetime.fromisoformat(story.moves[departure].body["departed_at"])
    nodes.clock.at = departed + timedelta(hours=1)
    for http in (nodes.xa, nodes.xb):
        items = http.get("/v1/handoffs").json()["items"]
        assert [(i["id"], i["overdue"], i["owed_by"]) for i in items] == [(case_id, False, XB)]
    nodes.clock.at = nodes.clock.now() + timedelta(days=30)  # long past arrival + 12 h
    assert nodes.xa.get("/v1/handoffs", overdue="true").json()["items"][0]["overdue"] is True
    arrival = next(m for m in story.moves if m.path == "arrival")
    assert nodes.xb.step(case_id, arrival.path, arrival.body).status_code == 200
    assert nodes.xb.get("/v1/handoffs").json()["items"] == []


def test_the_auditor_verifies_every_chain(nodes: Pair) -> None:
    open_case(nodes)
    open_case(nodes)
    report = nodes.xa.get("/v1/audit/verify", "auditor").json()
    assert report == {"ok": True, "cases": 2, "events": 2, "breaks": []}
