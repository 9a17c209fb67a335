"""Erasure over a real broker: the erasure request leaves sealed and signed like every
other message, and the partner destroys its own key of the case."""

from __future__ import annotations

import json

import pytest

from events.chain import ERASED
from events.values import Actor, Role
from services.network.demo_cases import PERSON
from tests.harness.exchange_nodes import Node, played, wait_until

pytestmark = pytest.mark.kafka


def test_the_partner_erases_its_copy_when_the_erasure_request_arrives(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    _, case_id = played(nodes, 6)  # consent ... acceptance: the identity crossed
    assert b.app.case(case_id).state.person == PERSON

    supervisor = Actor(a.agency, "supervisor", frozenset({Role.CASEWORKER, Role.SUPERVISOR}))
    a.app.record(case_id, "erasure", {"reason": "subject-request"}, supervisor)

    wait_until(lambda: b.app.case(case_id).state.erased, timeout=10)
    assert b.app.keys.erased(case_id)
    received = b.app.timeline(case_id)
    assert received[-1].type == "CaseErased" and received[-1].recorded_by == a.agency
    referral = next(e for e in received if e.type == "ReferralSent")
    assert referral.data["person"] == ERASED
    assert PERSON["family_name"] not in json.dumps([e.data for e in received])
    assert a.app.verify(case_id) == [] and b.app.verify(case_id) == []
    assert a.inbox is not None and b.inbox is not None
    assert (a.inbox.dead, b.inbox.dead) == (0, 0)
