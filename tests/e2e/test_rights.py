"""The person's rights over HTTP on two nodes: each refusal with its code or field and
the case unchanged; a stay that turns a return into a referral at both agencies; urgent
cases first on the board; the reflection period and the legal matters on the board, on
the nodes' injected clock; a corridor's own reflection period and urgent profile."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from events.deadlines import Deadlines
from services.api.app import create_app
from services.api.http.problems import PROBLEM_JSON
from services.bootstrap import build_node
from services.clock import FixedClock
from services.exchange.directory import Corridor, Directory, save
from services.network.demo_cases import GUARDIAN, Move, repatriation
from services.settings import load
from tests.harness.http_nodes import (
    START,
    XA,
    XB,
    HttpNode,
    Pair,
    Refused,
    open_case,
    opening,
    play,
    refusals_test,
)

CONSENT = {"scopes": ["refer", "share_identity", "return", "monitoring"], "language": "en",
           "interpreter": False, "given_by": "person"}
BY_GUARDIAN = {**CONSENT, "given_by": "guardian", "child_views_heard": True}


def story(p: Pair) -> list[Move]:
    return repatriation(p.clock.now().date()).moves


def until(moves: list[Move], path: str) -> list[Move]:
    return moves[:[m.path for m in moves].index(path)]


def body_of(moves: list[Move], path: str) -> dict[str, Any]:
    return next(m.body for m in moves if m.path == path)


def board_row(http: HttpNode, case_id: str) -> dict[str, Any]:
    rows = http.get("/v1/cases").json()["items"]
    return next(row for row in rows if row["id"] == case_id)


# -- refusals ----------------------------------------------------------------------------


def child_consents_herself(p: Pair) -> Refused:
    case_id = open_case(p, minor=True)
    assert p.xa.step(case_id, "guardian", GUARDIAN).status_code == 200
    return Refused(p.xa, case_id, "consent", {**BY_GUARDIAN, "given_by": "person"}, 409,
                   "minor-safeguards")


def child_consent_without_a_guardian(p: Pair) -> Refused:
    return Refused(p.xa, open_case(p, minor=True), "consent", BY_GUARDIAN, 409, "minor-safeguards")


def child_consent_without_her_views_heard(p: Pair) -> Refused:
    case_id = open_case(p, minor=True)
    assert p.xa.step(case_id, "guardian", GUARDIAN).status_code == 200
    return Refused(p.xa, case_id, "consent", {**BY_GUARDIAN, "child_views_heard": False}, 409,
                   "minor-safeguards")


def disputed_age_consent_without_a_guardian(p: Pair) -> Refused:
    case_id = open_case(p)
    body = {"assessed_on": p.clock.now().date().isoformat(), "outcome": "disputed"}
    assert p.xa.step(case_id, "age-assessment", body).status_code == 200
    return Refused(p.xa, case_id, "consent", CONSENT, 409, "minor-safeguards")


def guardian_for_a_capable_adult(p: Pair) -> Refused:
    return Refused(p.xa, open_case(p), "consent", {**CONSENT, "given_by": "guardian"}, 409,
                   "consent-required")


def consent_without_an_interpreter(p: Pair) -> Refused:
    return Refused(p.xa, open_case(p), "consent", {**CONSENT, "language": "fr"}, 422, "interpreter")


def return_decision_in_the_reflection_period(p: Pair) -> Refused:
    case_id = open_case(p, reflection_period_start=p.clock.now().date().isoformat())
    play(p, case_id, until(story(p), "return-decision"))
    return Refused(p.xa, case_id, "return-decision", body_of(story(p), "return-decision"), 409,
                   "reflection-period")


def return_decision_after_a_stay(p: Pair) -> Refused:
    case_id = open_case(p)
    play(p, case_id, until(story(p), "risk-assessment"))
    stay = {"decided_on": p.clock.now().date().isoformat(), "basis": "other"}
    assert p.xa.step(case_id, "stay-decision", stay).status_code == 200
    return Refused(p.xa, case_id, "return-decision", body_of(story(p), "return-decision"), 409,
                   "sequence")


test_each_refusal_names_its_rule_or_field_and_changes_nothing = refusals_test(
    child_consents_herself, child_consent_without_a_guardian,
    child_consent_without_her_views_heard, disputed_age_consent_without_a_guardian,
    guardian_for_a_capable_adult, consent_without_an_interpreter,
    return_decision_in_the_reflection_period, return_decision_after_a_stay,
)


def test_an_opening_whose_minor_flag_contradicts_the_date_of_birth_is_422(nodes: Pair) -> None:
    child = {**opening(minor=True)["person"]}
    response = nodes.xa.post("/v1/cases", opening(minor=False, person=child))
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM_JSON
    assert [e["field"] for e in response.json()["errors"]] == ["minor"]
    assert nodes.xa.get("/v1/cases").json()["total"] == 0
    derived = opening(minor=True)
    del derived["minor"]
    case_id = nodes.xa.post("/v1/cases", derived).json()["id"]
    assert nodes.xa.state(case_id)["minor"] is True


# -- paths ------------------------------------------------------------------------------


def test_a_person_who_stays_becomes_a_referral_at_both_agencies(nodes: Pair) -> None:
    case_id = open_case(nodes)
    moves = story(nodes)
    play(nodes, case_id, until(moves, "transport"))
    assert nodes.xb.state(case_id)["status"] == "ready"
    stay = {"decided_on": nodes.clock.now().date().isoformat(), "basis": "asylum"}
    play(nodes, case_id, [Move(moves[0].side, "stay-decision", stay)])

    for http in (nodes.xa, nodes.xb):
        state = http.state(case_id)
        assert (state["kind"], state["status"], state["blocking"]) == ("referral", "accepted", [])
        assert board_row(http, case_id)["blocking"] == []
    received = [e for e in nodes.xb.timeline(case_id) if e["type"] == "StayDecided"]
    assert [e["data"] for e in received] == [{"decided_on": stay["decided_on"]}]
    # Cross-border help goes on: the receiving agency still delivers services.
    plan = {"services": ["family"]}
    assert nodes.xb.step(case_id, "reintegration-plan", plan).status_code == 200
    assert nodes.xb.step(case_id, "travel-document", body_of(moves, "travel-document")
                         ).status_code == 409  # a return step no longer applies


def test_an_urgent_case_comes_first_and_its_clocks_are_hours(nodes: Pair) -> None:
    urgent = open_case(nodes, urgency="urgent")
    nodes.clock.advance(minutes=5)
    routine = open_case(nodes)
    for case_id in (urgent, routine):
        play(nodes, case_id, [Move(m.side, m.path, m.body) for m in story(nodes)[:2]])
    rows = nodes.xa.get("/v1/cases").json()["items"]
    assert [(r["id"], r["urgent"]) for r in rows] == [(urgent, True), (routine, False)]
    # The referring agency prepares its side before the partner accepts.
    decision = body_of(story(nodes), "return-decision")
    assert nodes.xa.step(urgent, "return-decision", decision).status_code == 200
    assert nodes.xa.step(routine, "return-decision", decision).status_code == 409
    nodes.clock.advance(hours=4)
    overdue = {c["name"] for c in nodes.xa.state(urgent)["overdue"]}
    assert overdue == {"acknowledge referral"}
    assert nodes.xa.state(routine)["overdue"] == []


def test_the_board_shows_the_reflection_period_and_the_legal_matters(nodes: Pair) -> None:
    today = nodes.clock.now().date()
    case_id = open_case(nodes, reflection_period_start=today.isoformat())
    assert board_row(nodes.xa, case_id)["reflection_period_ends"] == str(
        today + timedelta(days=30))
    steps = [("legal-proceeding", {"reference": "CR-9", "role": "witness"}),
             ("legal-assistance", {"provider": "Legal aid clinic", "from_date": str(today)}),
             ("proceeding-update", {"reference": "CR-9", "stage": "trial",
                                    "next_hearing_on": str(today + timedelta(days=20)),
                                    "person_informed": False})]
    for path, body in steps:
        assert nodes.xa.step(case_id, path, body).status_code == 200, path
    row = board_row(nodes.xa, case_id)
    assert row["legal_matters"] == [
        f"proceeding CR-9 (witness, trial, next hearing {today + timedelta(days=20)})",
        f"legal assistance from {today}"]
    nodes.clock.advance(days=15)
    row = board_row(nodes.xa, case_id)
    assert [c["name"] for c in row["overdue"]] == ["inform the person: proceeding CR-9"]
    assert row["reflection_period_ends"] == str(today + timedelta(days=30))
    informed = {**steps[2][1], "person_informed": True}
    assert nodes.xa.step(case_id, "proceeding-update", informed).status_code == 200
    assert board_row(nodes.xa, case_id)["overdue"] == []
    nodes.clock.advance(days=16)
    assert board_row(nodes.xa, case_id)["reflection_period_ends"] is None


def test_a_corridor_sets_its_own_reflection_period_and_urgent_profile(tmp_path: Path) -> None:
    directory = tmp_path / "directory.json"
    own = Deadlines(reflection_period=timedelta(days=90), urgent_acknowledge=timedelta(hours=1))
    save(directory, Directory(corridors=[Corridor(referring=XA, receiving=XB, deadlines=own)]))
    clock = FixedClock(START)
    node = build_node(load(agency=XA, data_dir=tmp_path / "xa", directory=directory), clock)
    xa = HttpNode(node, TestClient(create_app(node)))
    try:
        body = opening(urgency="urgent", reflection_period_start=START.date().isoformat())
        case_id = xa.post("/v1/cases", body).json()["id"]
        assert xa.state(case_id)["reflection_period_ends"] == str(
            START.date() + timedelta(days=90))
        assert xa.step(case_id, "consent", CONSENT).status_code == 200
        assert xa.step(case_id, "referral", {}).status_code == 200
        clock.advance(hours=2)
        assert {c["name"] for c in xa.state(case_id)["overdue"]} == {"acknowledge referral"}
    finally:
        xa.client.close()
        node.close()
