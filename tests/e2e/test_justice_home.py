"""Justice from home and a child's family, over HTTP on two nodes: each refusal names its
rule or field and leaves the case unchanged at both; a witness home before the trial is
told of the hearing, testifies remotely and is handed her compensation through the
receiving agency, whose board carries each request until it answers; a child goes home to
a family found by tracing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from events.values import Side
from services.network.demo_cases import Move, repatriation
from tests.harness.http_nodes import (
    XB,
    Pair,
    Refused,
    blocking_items,
    open_case,
    play,
    refusals_test,
)
from tests.harness.walks import (
    PRIVATE_BEFORE,
    PROCEEDING,
    justice_answers,
    repatriation_until,
    witness_home_before_trial,
)


def witness(p: Pair) -> str:
    case_id = open_case(p)
    play(p, case_id, witness_home_before_trial(p.clock.now().date()).moves)
    return case_id


# -- refusals ----------------------------------------------------------------------------


def inform(p: Pair, **changes: Any) -> dict[str, Any]:
    day = (p.clock.now().date() + timedelta(days=10)).isoformat()
    return {"kind": "inform_person", "reference": PROCEEDING, "due_on": day, **changes}


def linked_before_departure(p: Pair) -> str:
    case_id = open_case(p)
    play(p, case_id, [*PRIVATE_BEFORE["referral"][2:],
                      *repatriation_until(p.clock.now().date(), "transport")])
    return case_id


def request_before_the_person_left(p: Pair) -> Refused:
    return Refused(p.xa, linked_before_departure(p), "justice-request", inform(p), 409,
                   "sequence")


def inform_request_without_its_proceeding(p: Pair) -> Refused:
    body = {k: v for k, v in inform(p).items() if k != "reference"}
    return Refused(p.xa, witness(p), "justice-request", body, 422, "reference")


def remote_testimony_without_its_hearing(p: Pair) -> Refused:
    return Refused(p.xa, witness(p), "justice-request",
                   inform(p, kind="remote_testimony", hearing_on=None), 422, "hearing_on")


def second_open_request_of_a_kind(p: Pair) -> Refused:
    return Refused(p.xa, witness(p), "justice-request", inform(p), 409, "sequence")


def answer_to_no_open_request(p: Pair) -> Refused:
    case_id = witness(p)
    play(p, case_id, justice_answers(p.clock.now().date())[:1])
    return Refused(p.xb, case_id, "justice-response",
                   justice_answers(p.clock.now().date())[0].body, 409, "sequence")


def answer_by_the_referring_agency(p: Pair) -> Refused:
    return Refused(p.xa, witness(p), "justice-response",
                   justice_answers(p.clock.now().date())[0].body, 403, "step-owner")


def child_ready_for_a_caregiver(p: Pair, tracing: str | None) -> str:
    case_id = open_case(p, minor=True)
    moves = repatriation(p.clock.now().date(), minor=True).moves
    moves = moves[:[m.path for m in moves].index("family-tracing")]
    if tracing is not None:
        moves.append(Move(Side.RECEIVING, "family-tracing",
                          {"result": tracing, "completed_on": p.clock.now().date().isoformat()}))
    play(p, case_id, moves)
    return case_id


CAREGIVER = {"caregiver": {"name": "Grace Okafor", "relationship": "aunt"}}


def caregiver_of_a_child_without_tracing(p: Pair) -> Refused:
    return Refused(p.xb, child_ready_for_a_caregiver(p, None), "caregiver-confirmation",
                   CAREGIVER, 409, "minor-safeguards")


def caregiver_of_a_child_whose_family_was_found_unsuitable(p: Pair) -> Refused:
    return Refused(p.xb, child_ready_for_a_caregiver(p, "found_unsuitable"),
                   "caregiver-confirmation", CAREGIVER, 409, "minor-safeguards")


test_each_refusal_names_its_rule_or_field_and_changes_nothing = refusals_test(
    request_before_the_person_left, inform_request_without_its_proceeding,
    remote_testimony_without_its_hearing, second_open_request_of_a_kind,
    answer_to_no_open_request, answer_by_the_referring_agency,
    caregiver_of_a_child_without_tracing,
    caregiver_of_a_child_whose_family_was_found_unsuitable,
)


# -- the walks ---------------------------------------------------------------------------


def test_a_witness_home_before_the_trial_is_informed_testifies_and_is_compensated(
        nodes: Pair) -> None:
    case_id = witness(nodes)
    for http in (nodes.xa, nodes.xb):
        assert blocking_items(http, case_id, "justice-request") == [("justice-request", XB)] * 3
    assert PROCEEDING in str(nodes.xa.timeline(case_id))
    assert PROCEEDING not in str(nodes.xb.timeline(case_id)) + str(nodes.xb.state(case_id))
    received = [e["data"] for e in nodes.xb.timeline(case_id)
                if e["type"] == "JusticeRequestSent"]
    assert [sorted(d) for d in received] == [["due_on", "hearing_on", "kind"]] * 2 + [
        ["due_on", "kind"]]
    assert [e["type"] for e in nodes.xb.timeline(case_id)
            if e["type"].startswith(("Proceeding", "LegalProceeding", "Compensation"))] == []

    play(nodes, case_id, justice_answers(nodes.clock.now().date()))

    for http in (nodes.xa, nodes.xb):
        assert blocking_items(http, case_id, "justice-request") == []
    nodes.clock.advance(days=20)  # past the 14 days of the news she was told of in time
    row = next(r for r in nodes.xa.get("/v1/cases").json()["items"] if r["id"] == case_id)
    assert not [c for c in row["overdue"] if c["name"].startswith(("inform", "justice"))]


def test_an_unanswered_request_goes_overdue_at_both(nodes: Pair) -> None:
    case_id = witness(nodes)
    nodes.clock.advance(days=11)  # the inform request was due in 10 days

    for http in (nodes.xa, nodes.xb):
        row = next(r for r in http.get("/v1/cases").json()["items"] if r["id"] == case_id)
        assert ("justice from home: inform person", XB) in [
            (c["name"], c["owed_by"]) for c in row["overdue"]]


def test_a_child_goes_home_to_a_family_found_by_tracing(nodes: Pair) -> None:
    case_id = open_case(nodes, minor=True)
    walk = repatriation(nodes.clock.now().date(), minor=True).moves
    play(nodes, case_id, walk[:[m.path for m in walk].index("follow-up")])

    for http in (nodes.xa, nodes.xb):
        traced = [e["data"]["result"] for e in http.timeline(case_id)
                  if e["type"] == "FamilyTraced"]
        assert traced == ["found_suitable"]
        assert http.state(case_id)["status"] == "reintegrating"


# -- what crosses only with consent ------------------------------------------------------


def test_a_protection_measure_reaches_the_partner_s_board_only_when_the_person_agreed(
        nodes: Pair) -> None:
    case_id = open_case(nodes)
    today = nodes.clock.now().date()
    play(nodes, case_id, repatriation_until(today, "return-decision"))
    ends = (today + timedelta(days=30)).isoformat()
    play(nodes, case_id, [
        Move(Side.REFERRING, "protection-measure", {"kind": "anonymity_order",
                                                    "valid_until": ends}),
        Move(Side.REFERRING, "protection-measure", {"kind": "witness_protection",
                                                    "valid_until": ends,
                                                    "shared_with_consent": True})])

    xa, xb = (next(r for r in http.get("/v1/cases").json()["items"] if r["id"] == case_id)
              for http in (nodes.xa, nodes.xb))
    assert [m.split(" until")[0] for m in xa["legal_matters"]] == [
        "anonymity order", "witness protection"]
    assert [m.split(" until")[0] for m in xb["legal_matters"]] == ["witness protection"]


def test_a_health_service_before_departure_crosses_without_its_kind_without_share_health(
        nodes: Pair) -> None:
    case_id = open_case(nodes)
    today = nodes.clock.now().date()
    scopes = ["refer", "share_identity", "return", "monitoring"]
    moves = repatriation(today, scopes=scopes).moves
    play(nodes, case_id, moves[:[m.path for m in moves].index("return-decision")])
    play(nodes, case_id, [Move(Side.REFERRING, "service", {
        "service": "psychosocial", "delivered_on": today.isoformat(),
        "provider": "Trauma clinic"})])

    received = [e["data"] for e in nodes.xb.timeline(case_id) if e["type"] == "ServiceDelivered"]
    assert received == [{"side": "referring", "delivered_on": today.isoformat()}]
