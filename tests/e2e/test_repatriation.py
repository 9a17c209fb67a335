"""A whole repatriation through HTTP: every step endpoint, each by its owning agency,
each agency's timeline holding the partner's facts as received messages."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.steps import STEPS
from events.values import Side
from services.contract.codec import sent_digests
from services.network.demo_cases import Move, repatriation
from tests.harness.http_nodes import XA, XB, Pair, kafka_pair, open_case, play
from tests.harness.walks import (
    PRIVATE_BEFORE,
    declined_after_override,
    erased_after_decline,
    justice_answers,
    safety_replanned,
    stayed,
    threatened_before_departure,
    witness_home_before_trial,
)


def with_private_steps(moves: list[Move]) -> list[Move]:
    out: list[Move] = []
    for move in moves:
        if move.path not in {m.path for m in out}:  # only before the first of its kind
            out.extend(PRIVATE_BEFORE.get(move.path, []))
        out.append(move)
    return out


JUSTICE = [Move(Side.REFERRING, path, body) for path, body in [
    ("residence-permit", {"applied_on": "2025-03-01", "outcome": "granted",
                          "decided_on": "2025-03-03"}),
    ("legal-assistance", {"provider": "Legal aid clinic", "from_date": "2025-03-03"}),
    ("proceeding-update", {"reference": "CR-2025-118", "stage": "trial",
                           "next_hearing_on": "2025-04-01", "person_informed": True}),
    ("proceeding-closure", {"reference": "CR-2025-118", "outcome": "conviction",
                            "person_informed": True}),
    ("compensation-claim", {"filed_on": "2025-03-03", "amount": "1500.00", "currency": "EUR"}),
    ("compensation-decision", {"decided_on": "2025-03-04", "awarded": True}),
]]


def received(timeline: list[dict[str, Any]], sender: str) -> list[str]:
    return [e["type"] for e in timeline if e["recorded_by"] == sender and e["message_id"]]


def test_every_step_endpoint_of_a_repatriation(nodes: Pair) -> None:
    story = repatriation(nodes.clock.now().date(), minor=True)
    response = nodes.xa.post("/v1/cases", story.opening)
    assert response.status_code == 201
    case_id = response.json()["id"]
    assert response.headers["Location"] == f"/v1/cases/{case_id}"
    played = play(nodes, case_id, with_private_steps(story.moves))

    second = open_case(nodes)
    played += play(nodes, second, declined_after_override().moves)
    third = open_case(nodes)
    played += play(nodes, third, erased_after_decline().moves)
    stays = stayed(nodes.clock.now().date())
    fourth = nodes.xa.post("/v1/cases", stays.opening).json()["id"]
    played += play(nodes, fourth, with_private_steps(stays.moves) + JUSTICE)
    fifth = open_case(nodes)
    played += play(nodes, fifth, [Move(Side.REFERRING, "capacity-assessment",
                                       {"assessed_on": "2025-03-03", "incapacity_found": True})])
    sixth, today = open_case(nodes), nodes.clock.now().date()
    played += play(nodes, sixth, [*threatened_before_departure(today).moves,
                                  safety_replanned(today),
                                  Move(Side.REFERRING, "penalty-matter",
                                       {"kind": "fine", "status": "open",
                                        "linked_to_exploitation": True}),
                                  Move(Side.REFERRING, "protection-measure",
                                       {"kind": "anonymity_order",
                                        "valid_until": today.isoformat()}),
                                  Move(Side.RECEIVING, "notes",
                                       {"text": "Called the family; they expect her."})])
    seventh, today = open_case(nodes), nodes.clock.now().date()
    played += play(nodes, seventh, witness_home_before_trial(today).moves)
    played += play(nodes, seventh, justice_answers(nodes.clock.now().date()))

    assert set(played) == {path for path, step in STEPS.items() if not step.automatic}
    assert nodes.xa.state(case_id)["status"] == nodes.xb.state(case_id)["status"] == "follow_up"
    assert nodes.xb.state(second)["status"] == "declined"


def test_each_timeline_holds_the_partners_facts(nodes: Pair) -> None:
    story = repatriation(nodes.clock.now().date())
    case_id = nodes.xa.post("/v1/cases", story.opening).json()["id"]
    play(nodes, case_id, with_private_steps(story.moves))

    at_xa, at_xb = nodes.xa.timeline(case_id), nodes.xb.timeline(case_id)
    assert received(at_xa, XB) == [e["type"] for e in at_xb if e["recorded_by"] == XB]
    from_xa = received(at_xb, XA)
    assert from_xa[0] == "CaseOpened" and "ReferralSent" in from_xa
    # Asylum claims and legal proceedings never reach the country of origin.
    assert not {"AsylumClaimRecorded", "LegalProceedingLinked"} & set(from_xa)
    assert all(e["message_id"] is None for e in at_xa if e["recorded_by"] == XA)
    # The identity crossed with the referral, under consent share_identity.
    assert nodes.xb.state(case_id)["person"]["family_name"] == "Okafor"
    assert nodes.xa.get("/v1/audit/verify", "auditor").json()["ok"] is True
    assert nodes.xb.get("/v1/audit/verify", "auditor").json()["ok"] is True


@pytest.mark.kafka
def test_a_whole_repatriation_across_nodes_exchanging_over_the_broker(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The same walk, the nodes built as `homeward serve` builds them, over a real broker."""
    xa, xb = (f"{p}-{uuid.uuid4().hex[:6].upper()}" for p in ("XA", "XB"))
    nodes = kafka_pair(tmp_path, kafka_bootstrap, xa, xb)
    try:
        story = repatriation(nodes.clock.now().date(), receiving=xb)
        case_id = nodes.xa.post("/v1/cases", story.opening).json()["id"]
        play(nodes, case_id, with_private_steps(story.moves))
        xa_timeline, xb_timeline = nodes.xa.timeline(case_id), nodes.xb.timeline(case_id)
        # What XA sent: the digest of each shared event's minimised payload, never an event
        # of its own that stays home (asylum claims, legal proceedings).
        own = nodes.xa.node.app.timeline(UUID(case_id))
        shared = [e.type for e in own if e.recorded_by == xa and e.type not in (
            "AsylumClaimRecorded", "AsylumClaimClosed", "LegalProceedingLinked",
            "ProceedingsClearanceGiven")]
        assert [e["type"] for e in xb_timeline if e["message_id"]] == shared
        sent = sent_digests(own)
        assert [e["sender_hash"] for e in xb_timeline if e["message_id"]] == sent
        assert received(xa_timeline, xb) == [e["type"] for e in xb_timeline
                                             if e["recorded_by"] == xb and not e["message_id"]]
        # Everything relayed, as operators see it. The partner's facts just recorded make
        # nothing to send and do not wake the relay: it passes them at its next look at the
        # store (every 50 ms), so the gauge reaches 0 within moments, not at once.
        deadline = time.monotonic() + 10
        for http in (nodes.xa, nodes.xb):
            while "homeward_relay_lag_events 0.0" not in http.client.get("/metrics").text:
                assert time.monotonic() < deadline, f"{http.node.agency}: the relay lags"
                time.sleep(0.05)
        # The partner's receipts: each own event that crossed shows when it was delivered.
        def crossed(e: dict[str, Any]) -> bool:
            return e["recorded_by"] == xa and not e["message_id"] and e["type"] in shared

        deadline = time.monotonic() + 20
        while any(e["delivered_at"] is None for e in nodes.xa.timeline(case_id)
                  if crossed(e)) and time.monotonic() < deadline:
            time.sleep(0.05)
        timeline = nodes.xa.timeline(case_id)
        assert len([e for e in timeline if crossed(e)]) == len(sent)
        assert all(e["delivered_at"] is not None for e in timeline if crossed(e))
        assert all(e["delivered_at"] is None for e in timeline if not crossed(e))
        for http in (nodes.xa, nodes.xb):
            metrics = http.client.get("/metrics").text
            assert "homeward_undelivered_messages 0.0" in metrics
            assert "homeward_inbox_rejoins 0.0" in metrics  # a steady exchange keeps its place
    finally:
        nodes.close()
