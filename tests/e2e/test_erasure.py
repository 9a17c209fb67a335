"""Erasure over HTTP between two nodes: `POST /v1/cases/{id}/erasure` by a supervisor with
a ground. Afterwards the canary name is in no answer, no export and no byte of either
node's data directory; both chains verify; the partner erased its copy too."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from events.chain import ERASED
from events.values import Side
from services.cli.audit import export, verify
from services.network.demo_cases import Move
from services.tables.access import AccessLog
from tests.harness.builders import CANARY
from tests.harness.http_nodes import Pair, open_case, opening, play

R, C = Side.REFERRING, Side.RECEIVING
PERSON = {"given_names": "Maria Elena", "family_name": CANARY, "date_of_birth": "1994-03-12",
          "sex": "female", "nationality": "XB", "languages": ["ro"]}
MOVES = [
    Move(R, "consent", {"scopes": ["refer", "share_identity", "share_health", "return",
                                   "monitoring"], "language": "ro", "interpreter": True,
                        "given_by": "person"}),
    Move(R, "referral", {"note": f"{CANARY} asks to travel with her sister."}),
    Move(C, "acknowledgement", {"contact": {"name": "Desk", "email": "d@xb.example"},
                                "deputy": {"name": "Deputy", "email": "e@xb.example"}}),
    Move(R, "identity-verification-request", {"note": f"{CANARY}, born in the capital."}),
]


def answers(nodes: Pair, case_id: str) -> str:
    """Every answer a caseworker and a supervisor of either node get about the case."""
    texts = []
    for http in (nodes.xa, nodes.xb):
        for role in ("caseworker", "supervisor"):
            for path in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/timeline", "/v1/cases"):
                response = http.get(path, role)
                assert response.status_code == 200, response.text
                texts.append(response.text)
    return "\n".join(texts)


def files_holding(root: Path, word: str | bytes) -> list[Path]:
    """Every file under `root` whose bytes hold `word` (SQLite journals and WAL included)."""
    needle = word.encode() if isinstance(word, str) else word
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def wrapped_key(data_dir: Path, case_id: str) -> bytes:
    """The case's key as the node keeps it (encrypted under the node's key)."""
    with sqlite3.connect(data_dir / "events.keys.sqlite") as db:
        row = db.execute("SELECT wrapped_key FROM homeward_case_keys WHERE case_id = ?",
                         (case_id,)).fetchone()
    assert row is not None and row[0] is not None
    return bytes(row[0])


KEYS, KEYS_WAL = "events.keys.sqlite", "events.keys.sqlite-wal"
WAL_FILES = (KEYS_WAL, "events.sqlite-wal", "api.sqlite-wal")


def write_ahead_logs(data_dir: Path) -> list[Path]:
    """The node's stores keep write-ahead logs, each a file `files_holding` reads."""
    logs = [data_dir / name for name in WAL_FILES]
    assert all(log.is_file() for log in logs), sorted(p.name for p in data_dir.iterdir())
    return logs


def test_erasure_asks_a_supervisor_and_a_ground(nodes: Pair) -> None:
    case_id = open_case(nodes, person=PERSON)
    refused = nodes.xa.step(case_id, "erasure", {"reason": "subject-request"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert nodes.xa.step(case_id, "erasure", {}, "supervisor").status_code == 422
    assert nodes.xa.step(case_id, "erasure", {"reason": "because"}, "supervisor").status_code == 422
    assert nodes.xa.state(case_id)["version"] == 1
    assert nodes.xa.state(case_id)["person"]["family_name"] == CANARY


def test_after_erasure_no_answer_export_or_file_holds_the_name_and_both_chains_verify(
    nodes: Pair, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    case_id = open_case(nodes, person=PERSON)
    play(nodes, case_id, MOVES)
    assert nodes.xb.state(case_id)["person"]["family_name"] == CANARY  # it crossed
    assert CANARY in answers(nodes, case_id)
    # The node's files are encrypted under the node's key, so the name is in none of them
    # even now; what erasure must leave nowhere is the case's key, which opens the name.
    wrapped = {side: wrapped_key(tmp_path / side, case_id) for side in ("xa", "xb")}
    for side, key in wrapped.items():
        write_ahead_logs(tmp_path / side)
        # The key's page is in the key table's log until a checkpoint copies it back.
        holding = files_holding(tmp_path / side, key)
        assert holding and {p.name for p in holding} <= {KEYS, KEYS_WAL}, holding
    assert files_holding(tmp_path, CANARY) == []

    erased = nodes.xa.step(case_id, "erasure", {"reason": "subject-request"}, "supervisor")
    assert erased.status_code == 200, erased.text
    nodes.sync()

    assert CANARY not in answers(nodes, case_id)
    for http in (nodes.xa, nodes.xb):
        assert http.state(case_id)["person"] is None
        timeline = http.timeline(case_id, "supervisor")
        assert timeline[-1]["type"] == "CaseErased" and timeline[-1]["data"] == {
            "reason": "subject-request"}
        assert timeline[-1]["recorded_by"] == "XA-NRM"
        referral = next(e for e in timeline if e["type"] == "ReferralSent")
        assert referral["data"]["note"] == ERASED
    at_xb = nodes.xb.timeline(case_id, "supervisor")
    assert next(e for e in at_xb if e["type"] == "ReferralSent")["data"]["person"] == ERASED
    assert nodes.xa.timeline(case_id, "supervisor")[0]["data"]["person"] == ERASED

    for http in (nodes.xa, nodes.xb):
        audit, key = http.node.audit(), http.node.signing
        assert key is not None
        assert verify(audit, [UUID(case_id)]) == 0  # the checkpoints held included
        for fmt in ("json", "html"):
            out = tmp_path / f"{http.agency}.{fmt}"
            assert export(UUID(case_id), fmt, out, True, audit, key, "test", None) == 0
            assert CANARY not in out.read_text() and ERASED in out.read_text()
        for runner in http.node.read_models.runners:
            runner.rebuild()
    assert CANARY not in answers(nodes, case_id)  # read models rebuilt after the erasure

    for side, key in wrapped.items():  # free pages and logs included, before closing
        assert (tmp_path / side / KEYS_WAL).stat().st_size == 0  # truncated by the erasure
        write_ahead_logs(tmp_path / side)
        assert files_holding(tmp_path / side, key) == []
    nodes.close()
    assert files_holding(tmp_path, CANARY) == []
    for side, key in wrapped.items():
        assert files_holding(tmp_path / side, key) == []
    # The log says the erasure was done, naming the case by its id; no log line, of any
    # part of either node, holds the name.
    done = [r.homeward for r in caplog.records  # type: ignore[attr-defined]
            if getattr(r, "homeward", {}).get("event") == "erasure done"]
    assert done and {d["case"] for d in done} == {case_id}
    said = "\n".join(f"{r.getMessage()} {getattr(r, 'homeward', '')}" for r in caplog.records)
    assert CANARY not in said


def test_a_step_after_erasure_is_refused_with_its_rule(nodes: Pair) -> None:
    case_id = open_case(nodes, person=PERSON)
    play(nodes, case_id, MOVES[:1])
    assert nodes.xa.step(case_id, "erasure", {"reason": "retention-ended"},
                         "supervisor").status_code == 200
    again = nodes.xa.step(case_id, "referral", {"note": CANARY})
    assert again.status_code == 409 and again.json()["rule"] == "sequence"
    assert nodes.xa.step(case_id, "erasure", {"reason": "retention-ended"},
                         "supervisor").json()["rule"] == "sequence"


def test_erasure_leaves_no_hash_of_the_opening_in_the_idempotency_records(
    nodes: Pair, tmp_path: Path,
) -> None:
    body = opening(person=PERSON)
    first = nodes.xa.post("/v1/cases", body, **{"Idempotency-Key": "open-1"})
    assert first.status_code == 201
    case_id = first.json()["id"]

    def fingerprints() -> list[str]:
        with sqlite3.connect(tmp_path / "xa" / "api.sqlite") as db:
            return [row[0] for row in db.execute("SELECT fingerprint FROM homeward_idempotency")]

    [fingerprint] = fingerprints()  # an unsalted hash of a body that names the person
    holding = files_holding(tmp_path / "xa", fingerprint)
    assert holding and {p.name for p in holding} <= {"api.sqlite", "api.sqlite-wal"}, holding
    replay = nodes.xa.post("/v1/cases", body, **{"Idempotency-Key": "open-1"})
    assert replay.status_code == 201 and replay.json()["id"] == case_id

    erased = nodes.xa.step(case_id, "erasure", {"reason": "subject-request"}, "supervisor",
                           **{"Idempotency-Key": "erase-1"})
    assert erased.status_code == 200

    assert fingerprint not in fingerprints()
    write_ahead_logs(tmp_path / "xa")
    assert files_holding(tmp_path / "xa", fingerprint) == []
    retry = nodes.xa.post("/v1/cases", body, **{"Idempotency-Key": "open-1"})
    assert retry.status_code == 422  # refused, never a second case
    assert nodes.xa.get("/v1/cases").json()["total"] == 1


def test_the_purpose_of_a_read_goes_with_the_case_erasure_and_the_read_stays(
    nodes: Pair, tmp_path: Path,
) -> None:
    """The purpose is the reader's own words, a name as like as not: under the case's key,
    it is gone with the key; who read what and when stays on the record."""
    case_id = open_case(nodes, person=PERSON)
    purpose = f"court order re {CANARY}"
    read = nodes.xa.client.get(f"/v1/cases/{case_id}",
                               headers=nodes.xa.headers("caseworker", **{"X-Purpose": purpose}))
    assert read.status_code == 200
    # A row written before purposes were sealed under the case's key, under the node's.
    older = AccessLog(nodes.xa.node.tables, nodes.xa.node.app.mapper.cipher)
    older.record(UUID(case_id), "XA-NRM", "xa-nrm-supervisor", "timeline", f"older {CANARY}",
                 nodes.clock.now())
    before = nodes.xa.get("/v1/audit/access", "auditor", case=case_id).json()["entries"]
    assert [(e["sub"], e["purpose"], e["purpose_erased"]) for e in before] == [
        ("xa-nrm-caseworker", purpose, False), ("xa-nrm-supervisor", f"older {CANARY}", False)]
    stored = [row[0] for row in nodes.xa.node.tables.run(
        "SELECT purpose FROM homeward_access_log ORDER BY sub").rows]
    assert stored[0].startswith("case:") and stored[1].startswith("aes:")
    assert files_holding(tmp_path, CANARY) == []
    assert all(files_holding(tmp_path / "xa", s.encode()) for s in stored)

    erased = nodes.xa.step(case_id, "erasure", {"reason": "subject-request"}, "supervisor")
    assert erased.status_code == 200, erased.text
    nodes.sync()

    after = nodes.xa.get("/v1/audit/access", "auditor", case=case_id)
    assert after.status_code == 200 and CANARY not in after.text
    assert [(e["sub"], e["what"], e["at"], e["purpose"], e["purpose_erased"])
            for e in after.json()["entries"]] == [
        (e["sub"], e["what"], e["at"], None, True) for e in before]
    # Even the case's reads after its erasure record no purpose.
    nodes.xa.client.get(f"/v1/cases/{case_id}",
                        headers=nodes.xa.headers("caseworker", **{"X-Purpose": purpose}))
    assert nodes.xa.node.access_log.of_case(UUID(case_id))[-1].purpose_erased
    for s in stored:  # neither ciphertext is left in any file, free pages included
        assert files_holding(tmp_path / "xa", s.encode()) == []
    nodes.close()
    assert files_holding(tmp_path, CANARY) == []
