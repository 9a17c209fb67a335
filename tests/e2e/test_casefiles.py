"""A case's notes and documents over HTTP on two nodes: kept by the agency that wrote them,
read only by its caseworkers and supervisors (each read in the access log), never at the
partner, and after the case's erasure in no answer and no byte of the data directory."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import pytest
from httpx import Response

from services.api.documents import IN_ROW_BYTES
from services.api.http.limits import MAX_UPLOAD
from services.cli.audit import export
from tests.e2e.test_erasure import MOVES, files_holding
from tests.harness.http_nodes import HttpNode, Pair, open_case, play, token

NOTE_CANARY = "Qxvnotecanary met her brother at the bus station"
DOC_CANARY = b"Wqzdoccanary passport number KX0042871"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\x11" * 40
JPEG = b"\xff\xd8\xff\xe0\0\x10JFIF\0" + b"\x22" * 40


def pdf(body: bytes, size: int = 0) -> bytes:
    """A PDF-looking file holding `body`, padded to `size` bytes with bytes of its own."""
    head = b"%PDF-1.7\n" + body + b"\n"
    return head + bytes((i * 7 + 13) % 251 for i in range(max(0, size - len(head))))


def upload(http: HttpNode, case_id: str, content: bytes, kind: str = "application/pdf",
           name: str | None = "scan.pdf", role: str = "caseworker") -> Response:
    headers = http.headers(role, **{"Content-Type": kind})
    if name is not None and name.isascii():
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    elif name is not None:  # RFC 5987, as a browser sends a name beyond ASCII
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return http.client.post(f"/v1/cases/{case_id}/documents", content=content, headers=headers)


def read(http: HttpNode, path: str, role: str = "caseworker", purpose: str = "follow-up"
         ) -> Response:
    return http.client.get(path, headers=http.headers(role, **{"X-Purpose": purpose}))


def test_a_note_is_kept_read_with_a_purpose_and_never_crosses(nodes: Pair) -> None:
    case_id = open_case(nodes)
    play(nodes, case_id, MOVES[:3])  # referred and acknowledged: the partner holds the case
    written = nodes.xa.step(case_id, "notes", {"text": NOTE_CANARY})
    assert written.status_code == 200, written.text
    nodes.sync()

    notes = read(nodes.xa, f"/v1/cases/{case_id}/notes", purpose="weekly review")
    assert notes.status_code == 200, notes.text
    [note] = notes.json()["notes"]
    assert note["text"] == NOTE_CANARY and note["added_by"] == "xa-nrm-caseworker"
    assert note["erased"] is False
    log = nodes.xa.node.access_log.of_case(UUID(case_id))
    assert [(e.sub, e.what, e.purpose) for e in log][-1] == (
        "xa-nrm-caseworker", "notes", "weekly review")

    # The partner learns nothing of it: no event, no note, in no answer.
    at_xb = nodes.xb.timeline(case_id, "supervisor")
    assert all(e["type"] != "NoteAdded" for e in at_xb)
    assert read(nodes.xb, f"/v1/cases/{case_id}/notes").json()["notes"] == []
    for path in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/timeline"):
        assert NOTE_CANARY not in read(nodes.xb, path, "supervisor").text
    # The partner's own note stays at the partner.
    assert nodes.xb.step(case_id, "notes", {"text": "XB's own"}).status_code == 200
    nodes.sync()
    assert [n["text"] for n in read(nodes.xa, f"/v1/cases/{case_id}/notes").json()["notes"]
            ] == [NOTE_CANARY]


def test_notes_and_documents_are_for_caseworkers_and_supervisors_of_the_agency(
    nodes: Pair,
) -> None:
    case_id = open_case(nodes)
    assert nodes.xa.step(case_id, "notes", {"text": NOTE_CANARY}).status_code == 200
    assert upload(nodes.xa, case_id, pdf(DOC_CANARY)).status_code == 201
    for path in ("notes", "documents"):
        auditor = read(nodes.xa, f"/v1/cases/{case_id}/{path}", "auditor")
        assert auditor.status_code == 403, auditor.text
        # A token for another agency is not issued for this node: refused before any route.
        other = nodes.xa.client.get(f"/v1/cases/{case_id}/{path}", headers={
            "Authorization": f"Bearer {token(nodes.xa.node, agency=nodes.xb.agency)}"})
        assert other.status_code == 401
        # The partner's own caseworker, at the partner's node: nothing of XA's.
        assert NOTE_CANARY not in read(nodes.xb, f"/v1/cases/{case_id}/{path}").text
        assert nodes.xa.client.get(f"/v1/cases/{case_id}/{path}").status_code == 401
        assert read(nodes.xa, f"/v1/cases/{case_id}/{path}", "supervisor").status_code == 200
    assert upload(nodes.xa, case_id, pdf(DOC_CANARY), role="auditor").status_code == 403
    assert nodes.xa.step(case_id, "notes", {"text": "x"}, "auditor").status_code == 403


@pytest.mark.parametrize("body", [
    {}, {"text": ""}, {"text": "   \n "}, {"text": "x" * 4001}, {"text": 7},
    {"text": "ok", "more": 1}, [], "text",
])
def test_a_bad_note_is_refused_with_422_and_changes_nothing(nodes: Pair, body: Any) -> None:
    case_id = open_case(nodes)
    refused = nodes.xa.step(case_id, "notes", body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert nodes.xa.state(case_id)["version"] == 1
    assert read(nodes.xa, f"/v1/cases/{case_id}/notes").json()["notes"] == []


def test_a_document_is_listed_and_read_back_as_it_was_added(nodes: Pair) -> None:
    case_id = open_case(nodes)
    small, large = pdf(DOC_CANARY), pdf(DOC_CANARY, size=3 * IN_ROW_BYTES)
    added = [upload(nodes.xa, case_id, small, name="passport.pdf"),
             upload(nodes.xa, case_id, large, name="certificate médical.pdf",
                    role="supervisor"),
             upload(nodes.xa, case_id, PNG, "image/png", "photo.png"),
             upload(nodes.xa, case_id, JPEG, "image/jpeg; charset=binary", "c:\\scans\\id.jpg")]
    assert [a.status_code for a in added] == [201] * 4, [a.text for a in added]
    listing = read(nodes.xa, f"/v1/cases/{case_id}/documents")
    assert listing.status_code == 200
    docs = listing.json()["documents"]
    assert [(d["name"], d["content_type"], d["size"], d["added_by"]) for d in docs] == [
        ("passport.pdf", "application/pdf", len(small), "xa-nrm-caseworker"),
        ("certificate médical.pdf", "application/pdf", len(large), "xa-nrm-supervisor"),
        ("photo.png", "image/png", len(PNG), "xa-nrm-caseworker"),
        ("id.jpg", "image/jpeg", len(JPEG), "xa-nrm-caseworker")]
    for doc, content in zip(docs, (small, large, PNG, JPEG), strict=True):
        assert doc["sha256"] == hashlib.sha256(content).hexdigest()
        got = read(nodes.xa, f"/v1/cases/{case_id}/documents/{doc['id']}", purpose="court")
        assert got.status_code == 200 and got.content == content
        assert got.headers["content-type"] == doc["content_type"]
        assert got.headers["cache-control"] == "no-store"
        assert got.headers["repr-digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(content).digest()).decode()}:"
    whats = [e.what for e in nodes.xa.node.access_log.of_case(UUID(case_id))]
    assert whats[-5:] == ["documents", *(f"document:{d['id']}" for d in docs)]
    # The large one is a file of its own, 0600, sealed; the small ones stay in their rows.
    files = list((nodes.xa.node.settings.home / "documents" / case_id).iterdir())
    assert [f.name for f in files] == [docs[1]["id"]]
    assert files[0].stat().st_mode & 0o777 == 0o600
    assert DOC_CANARY not in files[0].read_bytes()
    missing = read(nodes.xa, f"/v1/cases/{case_id}/documents/{UUID(int=7)}")
    assert missing.status_code == 404
    other_case = open_case(nodes)
    assert read(nodes.xa, f"/v1/cases/{other_case}/documents/{docs[0]['id']}"
                ).status_code == 404
    assert read(nodes.xb, f"/v1/cases/{case_id}/documents").status_code == 404


@pytest.mark.parametrize(("content", "kind", "name", "status"), [
    (pdf(b"x"), "text/plain", "a.txt", 415),
    (pdf(b"x"), "", "a.pdf", 415),
    (b"MZ\x90\0 an executable", "application/pdf", "a.pdf", 415),
    (PNG, "image/jpeg", "a.jpg", 415),
    (JPEG, "image/png", "a.png", 415),
    (b"%PDF", "application/pdf", "a.pdf", 415),
    (b"", "application/pdf", "a.pdf", 422),
    (pdf(b"x"), "application/pdf", None, 422),
    (pdf(b"x"), "application/pdf", "", 422),
    (pdf(b"x"), "application/pdf", "x" * 256, 422),
    (pdf(b"x"), "application/pdf", "a\x01b.pdf", 422),
])
def test_a_bad_document_is_refused_and_nothing_is_kept(
    nodes: Pair, content: bytes, kind: str, name: str | None, status: int,
) -> None:
    case_id = open_case(nodes)
    refused = upload(nodes.xa, case_id, content, kind, name)
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert read(nodes.xa, f"/v1/cases/{case_id}/documents").json()["documents"] == []


def test_a_document_over_10_mib_is_refused_413_while_it_is_read(nodes: Pair) -> None:
    case_id = open_case(nodes)
    exact = upload(nodes.xa, case_id, pdf(b"x", MAX_UPLOAD))
    assert exact.status_code == 201, exact.text
    declared = upload(nodes.xa, case_id, pdf(b"x", MAX_UPLOAD + 1))
    assert declared.status_code == 413 and declared.json()["type"].endswith("too-large")
    sent: list[int] = []

    def chunks() -> Any:  # no Content-Length: the body is refused once it passes the limit
        for _ in range(64):
            sent.append(1)
            yield b"%PDF-" + b"y" * (1024 * 1024)

    streamed = nodes.xa.client.post(
        f"/v1/cases/{case_id}/documents", content=chunks(),
        headers=nodes.xa.headers(**{"Content-Type": "application/pdf",
                                    "Content-Disposition": 'attachment; filename="a.pdf"'}))
    assert streamed.status_code == 413
    assert len(read(nodes.xa, f"/v1/cases/{case_id}/documents").json()["documents"]) == 1
    assert nodes.xa.post(f"/v1/cases/{case_id}/notes",
                         {"text": "y" * (70 * 1024)}).status_code == 413  # JSON: 64 KiB


def test_after_erasure_no_answer_export_or_file_holds_the_note_or_the_document(
    nodes: Pair, tmp_path: Path,
) -> None:
    case_id = open_case(nodes)
    play(nodes, case_id, MOVES[:3])
    assert nodes.xa.step(case_id, "notes", {"text": NOTE_CANARY}).status_code == 200
    small, large = pdf(DOC_CANARY), pdf(DOC_CANARY, size=2 * IN_ROW_BYTES)
    ids = [upload(nodes.xa, case_id, c).json()["id"] for c in (small, large)]
    nodes.sync()
    assert NOTE_CANARY in read(nodes.xa, f"/v1/cases/{case_id}/notes").text
    assert read(nodes.xa, f"/v1/cases/{case_id}/documents/{ids[1]}").content == large
    home = tmp_path / "xa"
    sealed_file = (home / "documents" / case_id / ids[1]).read_bytes()
    with sqlite3.connect(home / "api.sqlite") as db:
        sealed_rows = [r[0] for r in db.execute("SELECT content FROM homeward_documents")
                       if r[0] is not None]
    assert len(sealed_rows) == 1  # the small one; the large one is its file
    assert all(files_holding(home, part.encode()) for part in sealed_rows)
    # Sealed: neither canary is in any file, even now (nor at the partner).
    assert files_holding(tmp_path, NOTE_CANARY) == []
    assert files_holding(tmp_path, DOC_CANARY) == []
    # The export redacts the note unless asked for personal data.
    audit, key = nodes.xa.node.audit(), nodes.xa.node.signing
    assert key is not None
    for personal in (False, True):
        out = tmp_path / f"export-{personal}.json"
        assert export(UUID(case_id), "json", out, personal, audit, key, "test", None) == 0
        assert (NOTE_CANARY in out.read_text()) is personal
        out.unlink()

    erased = nodes.xa.step(case_id, "erasure", {"reason": "subject-request"}, "supervisor")
    assert erased.status_code == 200, erased.text
    nodes.sync()

    notes = read(nodes.xa, f"/v1/cases/{case_id}/notes")
    assert notes.status_code == 200 and NOTE_CANARY not in notes.text
    assert [(n["text"], n["erased"]) for n in notes.json()["notes"]] == [(None, True)]
    listing = read(nodes.xa, f"/v1/cases/{case_id}/documents")
    assert listing.json() == {"id": case_id, "documents": [], "erased": True}
    for doc_id in ids:
        assert read(nodes.xa, f"/v1/cases/{case_id}/documents/{doc_id}").status_code == 409
    again = upload(nodes.xa, case_id, small)
    assert again.status_code == 409 and again.json()["rule"] == "sequence"
    assert nodes.xa.step(case_id, "notes", {"text": "after"}).json()["rule"] == "sequence"
    out = tmp_path / "after.json"
    assert export(UUID(case_id), "json", out, True, audit, key, "test", None) == 0
    assert NOTE_CANARY not in out.read_text()
    out.unlink()

    assert not (home / "documents" / case_id).exists()
    for part in [sealed_file[:64], sealed_file[-64:], *(r.encode() for r in sealed_rows)]:
        assert files_holding(home, part) == []
    nodes.close()
    assert files_holding(tmp_path, NOTE_CANARY) == []
    assert files_holding(tmp_path, DOC_CANARY) == []
    for part in [sealed_file[:64], sealed_file[-64:], *(r.encode() for r in sealed_rows)]:
        assert files_holding(tmp_path, part) == []
