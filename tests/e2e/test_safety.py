"""The return's safety gate over HTTP on two nodes: a safeguard broken after transport was
planned holds the case at both agencies, departure is refused with problem+json and the
case unchanged, and the return goes ahead once the safeguard holds again. Caseworkers'
steps without If-Match never fail because a partner's fact landed at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from services.application import VersionMismatch
from services.exchange.admission import RETRIES
from services.network.demo_cases import Move, repatriation
from tests.harness.http_nodes import XA, XB, Pair, open_case, play, refusal_of


def story(p: Pair) -> list[Move]:
    return repatriation(p.clock.now().date(), minor=True).moves


def until(moves: list[Move], path: str) -> list[Move]:
    return moves[:[m.path for m in moves].index(path)]


def body(moves: list[Move], path: str) -> dict[str, Any]:
    return next(m.body for m in moves if m.path == path)


def planned(p: Pair) -> tuple[str, list[Move]]:
    moves = story(p)
    case_id = open_case(p, minor=True)
    play(p, case_id, until(moves, "transport-cancellation"))  # transport planned
    return case_id, moves


def items(p: Pair, agency: str, case_id: str) -> list[tuple[str, str]]:
    return [(b["rule"], b["owed_by"]) for b in p.node(agency).state(case_id)["blocking"]]


def refused(p: Pair, case_id: str, path: str, data: dict[str, Any], code: str,
            status: int = 409) -> dict[str, Any]:
    before = p.xa.state(case_id)["version"]
    response = p.xa.step(case_id, path, data)
    problem = refusal_of(response, status, code)
    assert p.xa.state(case_id)["version"] == before
    return problem


def test_a_critical_finding_after_planning_holds_the_return_until_it_is_lowered(
    nodes: Pair,
) -> None:
    case_id, moves = planned(nodes)
    risk = body(moves, "risk-assessment")
    play(nodes, case_id, [Move(moves[0].side.RECEIVING, "risk-assessment",
                               {**risk, "level": "critical", "safety_plan": "none yet"})])

    for agency in (XA, XB):
        assert nodes.node(agency).state(case_id)["status"] == "on_hold"
        assert items(nodes, agency, case_id) == [("risk-assessment-required", XB)]
        board = nodes.node(agency).get("/v1/cases", status="on_hold").json()["items"]
        assert [b["id"] for b in board] == [case_id]
    refused(nodes, case_id, "departure", body(moves, "departure"), "risk-assessment-required")
    lowered = {**risk, "level": "low", "safety_plan": None}
    assert nodes.xb.step(case_id, "risk-assessment", lowered).status_code == 409  # no reason
    lowered["justification"] = "The recruiter was arrested and charged."
    assert nodes.xb.step(case_id, "risk-assessment", lowered, "supervisor").status_code == 200
    nodes.sync()

    for agency in (XA, XB):
        assert nodes.node(agency).state(case_id)["status"] == "scheduled"
    assert nodes.xa.step(case_id, "departure", body(moves, "departure")).status_code == 200


def test_the_justification_of_a_downgrade_stays_with_the_agency(nodes: Pair) -> None:
    case_id, moves = planned(nodes)
    risk = {**body(moves, "risk-assessment"), "level": "medium", "safety_plan": None,
            "justification": "Threat assessed again by the police liaison."}
    assert nodes.xa.step(case_id, "risk-assessment", risk, "supervisor").status_code == 200
    nodes.sync()

    mine = nodes.xa.timeline(case_id)[-1]
    theirs = nodes.xb.timeline(case_id)[-1]
    assert mine["type"] == theirs["type"] == "RiskAssessed"
    assert "justification" not in str(theirs)


def test_an_incident_in_transit_holds_the_case_at_both_nodes(nodes: Pair) -> None:
    case_id, moves = planned(nodes)
    assert nodes.xa.step(case_id, "departure", body(moves, "departure")).status_code == 200
    nodes.sync()
    incident = {"kind": "missing", "occurred_at": body(moves, "departure")["departed_at"],
                "details": "Left the transfer lounge at the layover."}

    assert nodes.xb.step(case_id, "transit-incident", incident).status_code == 200
    nodes.sync()

    for agency in (XA, XB):
        assert nodes.node(agency).state(case_id)["status"] == "on_hold"
        assert items(nodes, agency, case_id) == [("transit-incident", XA)]
    assert "details" not in str(nodes.xa.timeline(case_id)[-1])
    assert nodes.xb.step(case_id, "arrival", body(moves, "arrival")).status_code == 200
    nodes.sync()
    assert nodes.xa.state(case_id)["status"] == "arrived"


def test_a_departure_in_the_future_is_422_naming_the_field(nodes: Pair) -> None:
    case_id, _ = planned(nodes)
    ahead = (nodes.clock.now() + timedelta(minutes=20)).isoformat()

    problem = refused(nodes, case_id, "departure", {"departed_at": ahead}, "", status=422)

    assert [e["field"] for e in problem["errors"]] == ["departed_at"]


def test_steps_without_if_match_never_meet_a_partners_fact_as_a_conflict(nodes: Pair) -> None:
    """The receiving node's caseworker records steps while the referring node's facts
    land on the same case from another thread; every step is recorded, no fact lost."""
    case_id = open_case(nodes, minor=True)
    moves = story(nodes)
    play(nodes, case_id, until(moves, "risk-assessment"))
    referring = [m for m in until(moves, "transport")[6:] if m.side.value == "referring"]
    referring += [next(m for m in referring if m.path == "risk-assessment")] * 9
    risk = {"level": "low", "factors": [], "valid_until": body(moves, "risk-assessment")["valid_until"]}
    start, codes, failures = threading.Barrier(2), [], []

    def partner() -> None:
        start.wait()
        try:
            for move in referring:
                assert nodes.xa.step(case_id, move.path, move.body).status_code == 200
                deliver()
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    def deliver() -> None:
        # XA's fact lands at XB's store; like the inbox (services/exchange/admission.py),
        # a fact that met a local step is applied again on the fresh case.
        for _ in range(RETRIES):
            try:
                nodes.relays[0].run()
                return
            except VersionMismatch:
                continue
        raise AssertionError("the fact kept meeting local steps")

    thread = threading.Thread(target=partner)
    thread.start()
    start.wait()
    for _ in range(12):
        codes.append(nodes.xb.step(case_id, "risk-assessment", risk).status_code)
    thread.join()
    nodes.sync()

    assert failures == []
    assert codes == [200] * 12
    xb = nodes.xb.timeline(case_id)
    assert sum(1 for e in xb if e["type"] == "RiskAssessed" and e["recorded_by"] == XB) == 12
    received = [e for e in xb if e["recorded_by"] == XA]
    assert len(received) == len([e for e in nodes.xa.timeline(case_id) if e["recorded_by"] == XA])
    assert nodes.xb.get("/v1/audit/verify", "auditor").json()["ok"] is True


def test_a_partners_fact_landing_between_load_and_save_is_no_conflict(
    nodes: Pair, monkeypatch: Any,
) -> None:
    """Deterministically: each time the receiving node loads the case for a step, one of
    the referring node's facts is stored first. Without If-Match the step is recorded on
    the fresh case; with If-Match the caller asked for that version, so 412."""
    case_id = open_case(nodes, minor=True)
    moves = story(nodes)
    play(nodes, case_id, until(moves, "risk-assessment"))
    referring = [m for m in until(moves, "transport")[6:] if m.side.value == "referring"]
    app, load, busy = nodes.xb.node.app, nodes.xb.node.app.case, [False]

    def load_then_a_fact_lands(case: Any, version: int | None = None) -> Any:
        loaded = load(case, version)
        if referring and not busy[0]:
            busy[0] = True
            move = referring.pop(0)
            assert nodes.xa.step(case_id, move.path, move.body).status_code == 200
            nodes.relays[0].run()
            busy[0] = False
        return loaded

    monkeypatch.setattr(app, "case", load_then_a_fact_lands)
    risk = {"level": "low", "factors": [], "valid_until": body(moves, "risk-assessment")["valid_until"]}
    version = nodes.xb.state(case_id)["version"]  # (a fact lands here too)
    assert nodes.xb.step(case_id, "risk-assessment", risk, **{"If-Match": f'"{version}"'}
                         ).status_code == 412
    assert nodes.xb.step(case_id, "risk-assessment", risk).status_code == 200
    assert nodes.xb.step(case_id, "travel-document", body(moves, "travel-document")).status_code == 200

    monkeypatch.undo()
    nodes.sync()
    xb = nodes.xb.timeline(case_id)
    assert [e["type"] for e in xb if e["recorded_by"] == XB][-2:] == [
        "RiskAssessed", "TravelDocumentIssued"]
    assert len([e for e in xb if e["recorded_by"] == XA]) == len(
        [e for e in nodes.xa.timeline(case_id) if e["recorded_by"] == XA])


def test_the_hand_off_tracker_shows_the_incident_and_drops_a_cancelled_journey(
    nodes: Pair,
) -> None:
    case_id, moves = planned(nodes)
    departed = body(moves, "departure")
    assert nodes.xa.step(case_id, "departure", departed).status_code == 200
    incident = {"kind": "did_not_board", "occurred_at": departed["departed_at"]}
    assert nodes.xa.step(case_id, "transit-incident", incident).status_code == 200
    nodes.sync()

    for agency in (XA, XB):
        [item] = nodes.node(agency).get("/v1/handoffs").json()["items"]
        assert (item["id"], item["incident"]) == (case_id, "did_not_board")
    cancel = {"reason": "She did not board; the journey is called off."}
    assert nodes.xa.step(case_id, "transport-cancellation", cancel).status_code == 200
    nodes.sync()

    for agency in (XA, XB):
        assert nodes.node(agency).get("/v1/handoffs").json()["items"] == []
        assert nodes.node(agency).state(case_id)["status"] == "ready"


def test_an_asylum_claim_after_planning_holds_the_return_and_never_crosses(nodes: Pair) -> None:
    case_id, moves = planned(nodes)
    today = nodes.clock.now().date().isoformat()
    assert nodes.xa.step(case_id, "asylum-claim", {"lodged_on": today}).status_code == 200
    nodes.sync()

    refused(nodes, case_id, "departure", body(moves, "departure"), "asylum-guard")
    assert items(nodes, XA, case_id) == [("asylum-guard", XA)]
    assert items(nodes, XB, case_id) == [("return-held", XA)]
    assert nodes.xb.state(case_id)["status"] == "on_hold"
    assert "asylum" not in str(nodes.xb.timeline(case_id)).lower()
    assert "asylum" not in str(nodes.xb.state(case_id)).lower()

    closed = {"outcome": "granted"}
    assert nodes.xa.step(case_id, "asylum-claim-closure", closed).status_code == 200
    refused(nodes, case_id, "departure", body(moves, "departure"), "asylum-guard")
    cancel = {"reason": "Return no longer possible."}
    assert nodes.xa.step(case_id, "transport-cancellation", cancel).status_code == 200
    refused(nodes, case_id, "transport", body(moves, "transport"), "asylum-guard")
    closure = {"reason": "protection_granted", "justification": "Refugee status granted."}
    assert nodes.xa.step(case_id, "closure", closure).status_code == 200
    nodes.sync()
    assert nodes.xb.state(case_id)["closure_reason"] == "other"
    assert "asylum" not in str(nodes.xb.timeline(case_id)).lower()
    assert "refugee" not in str(nodes.xb.timeline(case_id)).lower()
