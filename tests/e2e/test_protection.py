"""After the hand-off the person is still protected, over HTTP on two nodes: each
refusal names its rule or field and leaves the case unchanged; each escalation appears
on both agencies' boards and clears once it is answered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from events.values import Side
from services.network.demo_cases import Move
from tests.harness.http_nodes import (
    XA,
    XB,
    Pair,
    Refused,
    blocking_items,
    open_case,
    play,
    refusals_test,
)
from tests.harness.walks import (
    at_risk_at_month_3,
    identity_confirmed_again,
    identity_not_confirmed,
    next_move,
    reassessed,
    repatriation_until,
    threatened_before_departure,
)

COMPLETED = {"reason": "completed"}


def at_risk(p: Pair) -> str:
    case_id = open_case(p)
    play(p, case_id, at_risk_at_month_3(p.clock.now().date()).moves)
    return case_id


# -- refusals ----------------------------------------------------------------------------


def closed_as_completed_while_at_risk(p: Pair) -> Refused:
    return Refused(p.xb, at_risk(p), "closure", COMPLETED, 409, "retrafficking-risk")


def closed_as_completed_by_a_supervisor_while_at_risk(p: Pair) -> Refused:
    return Refused(p.xb, at_risk(p), "closure",
                   {**COMPLETED, "justification": "She moved away."}, 409,
                   "retrafficking-risk", "supervisor")


def not_confirmed(p: Pair) -> str:
    case_id = open_case(p)
    play(p, case_id, identity_not_confirmed(p.clock.now().date()).moves)
    return case_id


def transport_for_an_unconfirmed_identity(p: Pair) -> Refused:
    transport = next_move(p.clock.now().date(), "transport").body
    return Refused(p.xa, not_confirmed(p), "transport", transport, 409, "identity-confirmed")


def departure_once_the_identity_was_not_confirmed(p: Pair) -> Refused:
    case_id = open_case(p)
    today = p.clock.now().date()
    play(p, case_id, [*repatriation_until(today, "departure"),
                      *identity_confirmed_again()[:1],
                      Move(Side.RECEIVING, "identity-verification", {"result": "not_confirmed"})])
    return Refused(p.xa, case_id, "departure", next_move(today, "departure").body, 409,
                   "identity-confirmed")


def departure_after_a_threat(p: Pair) -> Refused:
    case_id = open_case(p)
    today = p.clock.now().date()
    play(p, case_id, threatened_before_departure(today).moves)
    return Refused(p.xa, case_id, "departure", next_move(today, "departure").body, 409,
                   "protection-incident")


def transport_after_contact_by_the_traffickers(p: Pair) -> Refused:
    case_id = open_case(p)
    today = p.clock.now().date()
    contact = {"kind": "contact_by_traffickers", "occurred_on": today.isoformat()}
    play(p, case_id, [*repatriation_until(today, "transport"),
                      Move(Side.RECEIVING, "protection-incident", contact)])
    return Refused(p.xa, case_id, "transport", next_move(today, "transport").body, 409,
                   "protection-incident")


def accepted(p: Pair) -> str:
    case_id = open_case(p)
    play(p, case_id, repatriation_until(p.clock.now().date(), "return-decision"))
    return case_id


def decision(p: Pair, **changes: Any) -> dict[str, Any]:
    return {**next_move(p.clock.now().date(), "return-decision").body, **changes}


def return_decision_in_a_language_she_does_not_speak(p: Pair) -> Refused:
    return Refused(p.xa, accepted(p), "return-decision", decision(p, language="fr"), 422,
                   "interpreter")


def return_decision_with_no_alternative_explained(p: Pair) -> Refused:
    return Refused(p.xa, accepted(p), "return-decision", decision(p, options_explained=[]),
                   422, "options_explained")


def return_decision_without_its_language(p: Pair) -> Refused:
    body = {k: v for k, v in decision(p).items() if k != "language"}
    return Refused(p.xa, accepted(p), "return-decision", body, 422, "language")


REMOVAL_ORDER = {"kind": "removal_order", "status": "open", "linked_to_exploitation": True}


def under_a_removal_order(p: Pair) -> str:
    case_id = accepted(p)
    assert p.xa.step(case_id, "penalty-matter", REMOVAL_ORDER).status_code == 200
    return case_id


def return_decision_under_a_removal_order(p: Pair) -> Refused:
    return Refused(p.xa, under_a_removal_order(p), "return-decision", decision(p), 409,
                   "non-punishment")


def supervisor_s_return_decision_under_a_removal_order_without_a_justification(
        p: Pair) -> Refused:
    return Refused(p.xa, under_a_removal_order(p), "return-decision", decision(p), 409,
                   "non-punishment", "supervisor")


def referring_agency_s_service_after_departure(p: Pair) -> Refused:
    case_id = open_case(p)
    today = p.clock.now().date()
    play(p, case_id, [*repatriation_until(today, "departure"), next_move(today, "departure")])
    service = {"service": "psychosocial", "delivered_on": today.isoformat(),
               "provider": "Shelter counsellor"}
    return Refused(p.xa, case_id, "service", service, 409, "sequence")


test_each_refusal_names_its_rule_or_field_and_changes_nothing = refusals_test(
    closed_as_completed_while_at_risk, closed_as_completed_by_a_supervisor_while_at_risk,
    transport_for_an_unconfirmed_identity, departure_once_the_identity_was_not_confirmed,
    departure_after_a_threat, transport_after_contact_by_the_traffickers,
    return_decision_in_a_language_she_does_not_speak,
    return_decision_with_no_alternative_explained, return_decision_without_its_language,
    return_decision_under_a_removal_order,
    supervisor_s_return_decision_under_a_removal_order_without_a_justification,
    referring_agency_s_service_after_departure,
)


# -- escalations -------------------------------------------------------------------------


def test_a_person_at_risk_at_month_3_is_reassessed_with_a_plan_then_closed(nodes: Pair) -> None:
    case_id = at_risk(nodes)
    for http in (nodes.xa, nodes.xb):
        assert blocking_items(http, case_id, "retrafficking-risk") == [("retrafficking-risk", XB)]

    play(nodes, case_id, [reassessed(nodes.clock.now().date())])

    for http in (nodes.xa, nodes.xb):
        assert blocking_items(http, case_id, "retrafficking-risk") == []
    play(nodes, case_id, [Move(Side.RECEIVING, "closure", COMPLETED)])
    assert [http.state(case_id)["status"] for http in (nodes.xa, nodes.xb)] == ["closed"] * 2


def test_a_return_decision_through_an_interpreter_is_recorded_and_crosses_with_its_language(
        nodes: Pair) -> None:
    case_id = accepted(nodes)
    body = decision(nodes, language="fr", interpreter=True)

    assert nodes.xa.step(case_id, "return-decision", body).status_code == 200
    nodes.sync()

    received = [e["data"] for e in nodes.xb.timeline(case_id)
                if e["type"] == "ReturnDecisionRecorded"]
    assert [(d["language"], d["interpreter"]) for d in received] == [("fr", True)]


def test_a_supervisor_confirms_the_person_s_own_choice_under_a_removal_order(
        nodes: Pair) -> None:
    case_id = under_a_removal_order(nodes)
    row = next(r for r in nodes.xa.get("/v1/cases").json()["items"] if r["id"] == case_id)
    assert row["legal_matters"] == ["removal order open, linked to the exploitation"]
    justified = decision(nodes, justification="She asked to return to her children.")

    assert nodes.xa.step(case_id, "return-decision", justified, "supervisor").status_code == 200
    nodes.sync()

    received = [e["data"] for e in nodes.xb.timeline(case_id)
                if e["type"] == "ReturnDecisionRecorded"]
    assert len(received) == 1 and "justification" not in received[0]
    assert [e["type"] for e in nodes.xb.timeline(case_id)
            if e["type"] == "PenaltyMatterRecorded"] == []


def test_the_board_shows_a_protective_order_expiring_and_its_clock_overdue_once_it_ends(
        nodes: Pair) -> None:
    case_id = open_case(nodes)
    ends = nodes.clock.now().date() + timedelta(days=10)
    order = {"kind": "protective_order", "valid_until": ends.isoformat()}
    assert nodes.xa.step(case_id, "protection-measure", order).status_code == 200

    row = next(r for r in nodes.xa.get("/v1/cases").json()["items"] if r["id"] == case_id)
    assert row["legal_matters"] == [f"protective order until {ends}, expires in 10 days"]
    # The same as values, for a page to write in its language; and on the case's own view.
    measure = {"kind": "protection_measure", "measure": "protective_order",
               "valid_until": ends.isoformat(), "days_left": 10}
    assert [{k: v for k, v in i.items() if v is not None} for i in row["legal_items"]] == [measure]
    view = nodes.xa.get(f"/v1/cases/{case_id}").json()
    assert (view["legal_matters"], view["legal_items"]) == (row["legal_matters"], row["legal_items"])
    assert row["overdue"] == []
    nodes.clock.advance(days=11)
    row = next(r for r in nodes.xa.get("/v1/cases").json()["items"] if r["id"] == case_id)
    assert [(c["name"], c["owed_by"]) for c in row["overdue"]] == [
        ("renew the protective order", XA)]


def test_help_before_departure_is_recorded_by_the_referring_agency_and_seen_at_both(
        nodes: Pair) -> None:
    case_id = accepted(nodes)
    today = nodes.clock.now().date().isoformat()
    play(nodes, case_id, [
        Move(Side.REFERRING, "shelter-admission", {"shelter": "Shelter A", "admitted_on": today}),
        Move(Side.REFERRING, "service", {"service": "legal", "delivered_on": today,
                                         "provider": "Legal aid clinic"}),
        Move(Side.RECEIVING, "reintegration-plan", {"services": ["housing"]})])

    received = [(e["type"], e["data"].get("side")) for e in nodes.xb.timeline(case_id)
                if e["type"] in ("ShelterAdmitted", "ServiceDelivered")]
    assert received == [("ShelterAdmitted", "referring"), ("ServiceDelivered", "referring")]
