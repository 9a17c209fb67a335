"""Anchored chains: each node signs a checkpoint of its stream at every message it sends,
keeps it, and keeps its partner's. `homeward audit verify` (and `GET /v1/audit/verify`)
then names what a chain that verifies on its own hides: events cut off its end, an event
rewritten with every later hash recomputed, a case deleted, a received fact its partner
never sent. Two real nodes over the broker, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from events.audit import verify_chain
from events.chain import digest
from events.values import Received
from services.anchors.audit import StoreAudit
from services.anchors.checkpoint import Checkpoint
from services.cli import main
from tests.harness import tamper
from tests.harness.builders import bodies
from tests.harness.exchange_nodes import wait_until
from tests.harness.http_nodes import (
    START,
    HttpNode,
    Pair,
    opening,
    pair_on_each_backend,
)


@pytest.fixture(params=["sqlite", "postgres"])
def nodes(request: pytest.FixtureRequest, tmp_path: Path, kafka_bootstrap: str
          ) -> Iterator[Pair]:
    p = pair_on_each_backend(request, tmp_path, kafka_bootstrap)
    yield p
    p.close()


def acknowledged(p: Pair) -> UUID:
    """Opened, consented and referred at XA (three messages), acknowledged at XB (one)."""
    response = p.xa.post("/v1/cases", opening(receiving_agency=p.xb.agency))
    assert response.status_code == 201, response.text
    case_id = response.json()["id"]
    steps = [(p.xa, "consent"), (p.xa, "referral"), (p.xb, "acknowledgement")]
    for http, path in steps:
        assert http.step(case_id, path, bodies(START)[path]).status_code == 200
        p.sync()
    case = UUID(case_id)
    # Each side keeps its partner's checkpoint once the fact is recorded, signs its own
    # stream at the fact, and keeps the checkpoint its partner's receipt carries: XA its 3
    # messages, its fact, XB's message and XB's 3 receipts; XB the reverse.
    wait_until(lambda: len(audit(p.xa).anchors.of_case(case)) == 8, timeout=20)
    wait_until(lambda: len(audit(p.xb).anchors.of_case(case)) == 8, timeout=20)
    return case


def audit(http: HttpNode) -> StoreAudit:
    return http.node.audit()


def faults(http: HttpNode) -> list[dict[str, Any]]:
    response = http.get("/v1/audit/verify", "auditor")
    assert response.status_code == 200, response.text
    breaks: list[dict[str, Any]] = response.json()["breaks"]
    return breaks


def cli_verify(http: HttpNode, monkeypatch: pytest.MonkeyPatch) -> int:
    """`homeward audit verify` run against the node's store, as an operator would."""
    settings = http.node.settings
    monkeypatch.setenv("HOMEWARD_AGENCY", settings.agency)
    monkeypatch.setenv("HOMEWARD_DATA_DIR", str(settings.home))
    if settings.database_url:
        monkeypatch.setenv("HOMEWARD_DATABASE_URL", settings.database_url)
    if settings.directory:
        monkeypatch.setenv("HOMEWARD_DIRECTORY", str(settings.directory))
    return main(["audit", "verify"])


def test_both_nodes_hold_both_agencies_checkpoints_and_verify_clean(nodes: Pair) -> None:
    case_id = acknowledged(nodes)
    held = audit(nodes.xa).anchors.of_case(case_id)
    # Read with other cases' (the audit's range), as read alone; a case with none left out.
    assert audit(nodes.xa).anchors.of_cases([uuid4(), case_id]) == {case_id: held}
    xa, xb = nodes.xa.agency, nodes.xb.agency
    assert [(c.agency, c.version, c.message.sequence if c.message else None, c.receipt)
            for c in held] == [
        (xa, 1, 1, False), (xa, 2, 2, False), (xa, 3, 3, False), (xa, 4, None, False),
        (xb, 1, 1, True), (xb, 2, 2, True), (xb, 3, 3, True), (xb, 4, 1, False)]
    # XB's receipts: its stream at each fact of XA's messages, as XB holds them.
    at_xb = nodes.xb.node.app.timeline(case_id)
    assert [c.hash for c in held if c.receipt] == [e.hash for e in at_xb[:3]]
    # XB's checkpoint names the message it rode on, and XA's fact holds that digest.
    from_xb = next(c for c in held if c.agency == xb and not c.receipt)
    fact = nodes.xa.node.app.timeline(case_id)[-1]
    assert fact.received is not None and from_xb.message is not None
    assert from_xb.message.hash == fact.received["sender_hash"]
    assert from_xb.valid(audit(nodes.xa).key_of)
    assert faults(nodes.xa) == [] and faults(nodes.xb) == []


def test_verify_names_events_cut_off_the_end(nodes: Pair, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    case_id = acknowledged(nodes)
    tamper.truncate(nodes.xa.node.app, case_id, keep=2)
    assert verify_chain(nodes.xa.node.app.timeline(case_id)) == []  # the chain alone passes
    found = faults(nodes.xa)
    assert {(f["fault"], f["version"]) for f in found} == {("truncated", 3), ("truncated", 4)}
    assert any("signed version 3" in f["reason"] for f in found)
    assert cli_verify(nodes.xa, monkeypatch) == 1
    out = capsys.readouterr().out
    assert f"case {case_id}: version 3: truncated: the stream ends at version 2" in out


def test_verify_names_an_event_rewritten_with_every_later_hash_recomputed(nodes: Pair) -> None:
    case_id = acknowledged(nodes)
    tamper.rewrite(nodes.xa.node.app, case_id, 2,
                   lambda data: {**data, "interpreter": not data["interpreter"]})
    assert verify_chain(nodes.xa.node.app.timeline(case_id)) == []
    found = faults(nodes.xa)
    assert [(f["fault"], f["version"], f["type"]) for f in found] == [
        ("rewritten", 2, "ConsentRecorded")]


def test_verify_names_a_deleted_case(nodes: Pair, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    case_id = acknowledged(nodes)
    tamper.delete_case(nodes.xb.node.app, case_id)
    found = faults(nodes.xb)
    assert [(f["case_id"], f["fault"], f["version"]) for f in found] == [
        (str(case_id), "deleted", 4)]
    assert cli_verify(nodes.xb, monkeypatch) == 1
    assert "deleted: the case is not in the store" in capsys.readouterr().out


def test_verify_names_a_received_fact_its_partner_never_sent(nodes: Pair) -> None:
    case_id = acknowledged(nodes)
    forged = Received(nodes.xb.agency, "6f1c2b8e-4d7a-4c1e-9b3f-2a5d8e7c1f00", "ab" * 32, 2)
    nodes.xa.node.app.receive(case_id, "referral-accepted", {"note": "accepted"}, forged)
    assert verify_chain(nodes.xa.node.app.timeline(case_id)) == []
    found = faults(nodes.xa)
    assert [(f["fault"], f["version"], f["type"]) for f in found] == [
        ("forged-fact", 5, "ReferralAccepted")]
    assert "signed no checkpoint for its message 2" in found[0]["reason"]


def test_a_received_fact_rewritten_after_the_last_message_sent_is_named(nodes: Pair) -> None:
    case_id = acknowledged(nodes)
    # XA's last message was at version 3; the fact at 4 is anchored by the checkpoint XA
    # signed of its own stream as it recorded the fact.
    tamper.rewrite(nodes.xa.node.app, case_id, 4, lambda data: {
        **data, "contact": {**data["contact"], "email": "someone.else@xb.example"}})
    assert verify_chain(nodes.xa.node.app.timeline(case_id)) == []
    assert [(f["fault"], f["version"], f["type"]) for f in faults(nodes.xa)] == [
        ("rewritten", 4, "ReferralAcknowledged")]


def test_a_received_fact_whose_digest_was_changed_is_named(nodes: Pair) -> None:
    case_id = acknowledged(nodes)
    app = nodes.xa.node.app
    events = app.timeline(case_id)
    assert events[3].received is not None
    # The fact keeps its content; its recorded digest is replaced, its hash recomputed.
    changed = dataclasses.replace(events[3], received={**events[3].received,  # type: ignore[type-var]
                                                       "sender_hash": "cd" * 32})
    changed = dataclasses.replace(changed, hash=digest(changed.content()))  # type: ignore[type-var]
    tamper.replace_event(app, case_id, changed)
    kinds = {(f["fault"], f["version"]) for f in faults(nodes.xa)}
    assert ("forged-fact", 4) in kinds


def test_a_checkpoint_altered_in_the_table_does_not_verify(nodes: Pair) -> None:
    case_id = acknowledged(nodes)
    anchors = audit(nodes.xb).anchors
    kept = anchors.of_case(case_id)[0]
    anchors.db.run(f"DELETE FROM {anchors.t} WHERE case_id = ? AND agency = ? AND version = ?",
                   (kept.case_id, kept.agency, kept.version))
    anchors.keep(Checkpoint(**{**kept.__dict__, "hash": "ee" * 32}))
    found = faults(nodes.xb)
    assert [(f["fault"], f["version"]) for f in found] == [("checkpoint", kept.version)]
