"""The agency's casework: assignment and four-eyes approval requests (DOMAIN.md,
"Casework inside an agency"). Each rule refuses with its code and leaves the case as it was."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from events import casework
from events.case import Case, CaseEvent
from events.casework import ApprovalRequest, Assign, Decision
from events.progress import blocking
from events.rules import RuleViolation
from events.steps import STEPS
from events.values import Actor, Role
from projections.case_state import decode_state, encode_state
from services.contract.codec import is_exported
from tests.harness.builders import ANNA, SARA, T0, XA, Story, snapshot

PAT = Actor(XA, "pat")  # a second caseworker of the referring agency
SUE = Actor(XA, "sue", frozenset({Role.SUPERVISOR}))  # a second supervisor


def refused(case: Case, code: str, change: Callable[[], object]) -> None:
    before = (snapshot(case), len(case.pending_events))
    with pytest.raises(RuleViolation) as refusal:
        change()
    assert refusal.value.code == code, str(refusal.value)
    assert (snapshot(case), len(case.pending_events)) == before


def test_a_caseworker_takes_an_unassigned_case_for_themselves_only() -> None:
    case = Story().xa
    refused(case, "assignment", lambda: casework.assign(case, Assign(assigned_to="pat"),
                                                          ANNA, T0))
    casework.assign(case, Assign(assigned_to="anna"), ANNA, T0)
    assert case.state.assigned_to == "anna"
    refused(case, "assignment", lambda: casework.assign(case, Assign(assigned_to="pat"),
                                                          PAT, T0))
    casework.assign(case, Assign(assigned_to="pat"), SARA, T0)  # a supervisor reassigns
    assert case.state.assigned_to == "pat"
    refused(case, "assignment", lambda: casework.assign(case, Assign(assigned_to="pat"),
                                                          SARA, T0))
    assigned = case.pending_events[-1]
    assert isinstance(assigned, CaseEvent)
    assert assigned.type == "CaseAssigned" and not is_exported(assigned)


def downgrade_request(story: Story) -> ApprovalRequest:
    story.step(XA, "risk-assessment", level="critical")
    return ApprovalRequest(step="risk-assessment", reason="the trafficker was convicted",
                           body={**story.bodies["risk-assessment"], "level": "medium",
                                 "justification": "the threat ended with the conviction"})


def ask(case: Case, request: ApprovalRequest, actor: Actor = ANNA) -> str:
    step = STEPS[request.step]
    return casework.request_approval(case, step, request.body, request.reason, actor, T0)


def test_a_pending_request_blocks_the_case_for_its_own_agency_until_decided() -> None:
    story = Story()
    request = downgrade_request(story)
    case = story.xa
    request_id = ask(case, request)
    items = [b for b in blocking(case, T0) if b.rule == "approval-pending"]
    assert [(b.owed_by.value, b.rule) for b in items] == [("referring", "approval-pending")]
    refused(case, "approval-pending", lambda: ask(case, request, PAT))
    state = decode_state(encode_state(case.state))  # the board keeps it, without the body
    assert state.approvals[request_id].step == "risk-assessment"
    asked = case.pending_events[-1]
    assert isinstance(asked, CaseEvent)
    assert asked.type == "ApprovalRequested" and not is_exported(asked)
    assert set(asked.salts or {}) == {"body", "reason"}  # under the case's key


def test_the_requester_never_decides_their_own_request_supervisors_included() -> None:
    story = Story()
    request = downgrade_request(story)
    case = story.xa
    mine = ask(case, request, SARA)
    refused(case, "four-eyes", lambda: casework.decide(
        case, mine, Decision(decision="approved"), SARA, T0))
    refused(case, "four-eyes", lambda: casework.decide(
        case, mine, Decision(decision="approved"), PAT, T0))  # not a supervisor
    decided = casework.decide(case, mine, Decision(decision="rejected", note="no"), SUE, T0)
    assert decided.requested_by == "sara" and not case.state.approvals
    refused(case, "sequence", lambda: casework.decide(
        case, mine, Decision(decision="approved"), SUE, T0))


def test_an_approved_step_is_the_requesters_with_the_approvers_authority() -> None:
    story = Story()
    request = downgrade_request(story)
    case = story.xa
    refused(case, "risk-downgrade-justified", lambda: case.record(
        STEPS["risk-assessment"], request.body, ANNA, T0))
    request_id = ask(case, request)
    approval = casework.decide(case, request_id, Decision(decision="approved"), SARA, T0)
    event = case.record(STEPS["risk-assessment"], request.body,
                        casework.requester(case, approval, SARA), T0)
    assert (event.actor, event.approved_by) == ("anna", "sara")
    assert case.state.risk[next(iter(case.state.risk))].level.value == "medium"
    assert event.content()["approved_by"] == "sara"  # the hash covers who approved


def test_a_step_that_needs_no_supervisor_is_not_asked_for() -> None:
    case = Story().xa
    with pytest.raises(ValueError, match="step"):
        casework.request_approval(case, STEPS["consent"], {}, "why", ANNA, T0)


def test_every_step_a_user_records_is_in_one_phase() -> None:
    from events.next_steps import PHASES

    listed = [path for paths in PHASES.values() for path in paths]
    assert sorted(listed) == sorted(p for p, s in STEPS.items() if not s.automatic)


def test_the_next_steps_are_those_the_blocking_items_ask_of_the_agency() -> None:
    from events.next_steps import next_steps
    from events.values import Side

    story = Story()
    story.step(XA, "consent")
    story.step(XA, "referral")
    xb = story.xb
    assert xb is not None
    every = [p for p, s in STEPS.items() if not s.automatic]
    assert next_steps(xb, Side.RECEIVING, every, T0) == ["acknowledgement"]
    assert next_steps(story.xa, Side.REFERRING, every, T0) == []  # it waits on its partner
    assert next_steps(xb, Side.RECEIVING, ["acceptance"], T0) == []  # only what is open
