"""The escalations that keep the person protected appear and clear at both agencies as
the nodes exchange over the broker, and no envelope carries what must stay home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from events.values import Side
from services.network.demo_cases import Move, repatriation
from tests.harness.http_nodes import XA, XB, HttpNode, Pair, kafka_pair, open_case, play
from tests.harness.walks import (
    PROCEEDING,
    at_risk_at_month_3,
    identity_confirmed_again,
    identity_not_confirmed,
    justice_answers,
    next_move,
    reassessed,
    safety_replanned,
    threatened_before_departure,
    witness_home_before_trial,
)


@pytest.fixture
def over_the_broker(tmp_path: Path, kafka_bootstrap: str) -> Iterator[Pair]:
    p = kafka_pair(tmp_path, kafka_bootstrap, XA, XB)
    yield p
    p.close()


def items(http: HttpNode, case_id: str, rule: str) -> list[str]:
    return [b["owed_by"] for b in http.state(case_id)["blocking"] if b["rule"] == rule]


def both(p: Pair, case_id: str, rule: str) -> list[list[str]]:
    return [items(http, case_id, rule) for http in (p.xa, p.xb)]


def held_at_both_until(p: Pair, held: list[Move], waiting: tuple[str, str],
                       lifted: list[Move], then: tuple[str, str]) -> None:
    """A case the `held` steps put on hold at both agencies, with the item `waiting` on its
    owner at both, until the `lifted` steps clear it there: the case is then in the status
    `then` names at both, and its next step can be recorded."""
    item, owner = waiting
    status, next_path = then
    case_id = open_case(p)
    play(p, case_id, held)
    assert [http.state(case_id)["status"] for http in (p.xa, p.xb)] == ["on_hold"] * 2
    assert both(p, case_id, item) == [[owner], [owner]]

    play(p, case_id, lifted)

    assert both(p, case_id, item) == [[], []]
    assert [http.state(case_id)["status"] for http in (p.xa, p.xb)] == [status] * 2
    play(p, case_id, [next_move(p.clock.now().date(), next_path)])


def test_a_risk_of_retrafficking_is_escalated_and_cleared_at_both(over_the_broker: Pair) -> None:
    p = over_the_broker
    case_id = open_case(p)
    play(p, case_id, at_risk_at_month_3(p.clock.now().date()).moves)
    assert both(p, case_id, "retrafficking-risk") == [[XB], [XB]]

    play(p, case_id, [reassessed(p.clock.now().date())])

    assert both(p, case_id, "retrafficking-risk") == [[], []]
    play(p, case_id, [Move(Side.RECEIVING, "closure", {"reason": "completed"})])


def test_an_identity_not_confirmed_holds_the_return_at_both_until_confirmed(
        over_the_broker: Pair) -> None:
    p = over_the_broker
    held_at_both_until(p, identity_not_confirmed(p.clock.now().date()).moves,
                       ("identity-confirmed", XB), identity_confirmed_again(),
                       ("ready", "transport"))


def test_a_threat_before_departure_holds_the_return_at_both_until_a_new_assessment(
        over_the_broker: Pair) -> None:
    p = over_the_broker
    held_at_both_until(p, threatened_before_departure(p.clock.now().date()).moves,
                       ("protection-incident", XA), [safety_replanned(p.clock.now().date())],
                       ("scheduled", "departure"))


def test_an_incident_after_arrival_is_escalated_to_the_receiving_agency_at_both(
        over_the_broker: Pair) -> None:
    p = over_the_broker
    case_id = open_case(p)
    today = p.clock.now().date()
    moves = at_risk_at_month_3(today).moves[:-1]  # home and helped
    missing = {"kind": "missing", "occurred_on": today.isoformat(),
               "details": "Not seen at the shelter since Sunday."}
    play(p, case_id, [*moves, Move(Side.REFERRING, "protection-incident", missing)])
    assert both(p, case_id, "protection-incident") == [[XB], [XB]]

    play(p, case_id, [safety_replanned(p.clock.now().date(), Side.RECEIVING)])

    assert both(p, case_id, "protection-incident") == [[], []]


def test_justice_from_home_is_owed_by_the_receiving_agency_at_both_until_answered(
        over_the_broker: Pair) -> None:
    p = over_the_broker
    case_id = open_case(p)
    play(p, case_id, witness_home_before_trial(p.clock.now().date()).moves)
    assert both(p, case_id, "justice-request") == [[XB] * 3, [XB] * 3]
    assert PROCEEDING not in str(p.xb.timeline(case_id))

    play(p, case_id, justice_answers(p.clock.now().date()))

    assert both(p, case_id, "justice-request") == [[], []]


def test_a_child_goes_home_to_a_family_found_by_tracing_at_both(over_the_broker: Pair) -> None:
    p = over_the_broker
    case_id = open_case(p, minor=True)
    walk = repatriation(p.clock.now().date(), minor=True).moves
    paths = [m.path for m in walk]
    play(p, case_id, walk[:paths.index("caregiver-confirmation")])
    assert both(p, case_id, "minor-safeguards") == [[XB], [XB]]  # the caregiver, after tracing

    play(p, case_id, walk[paths.index("caregiver-confirmation"):paths.index("follow-up")])

    assert [http.state(case_id)["status"] for http in (p.xa, p.xb)] == ["reintegrating"] * 2
    assert [[e["data"]["result"] for e in http.timeline(case_id) if e["type"] == "FamilyTraced"]
            for http in (p.xa, p.xb)] == [["found_suitable"]] * 2
