"""An agency node on PostgreSQL, as production runs it: store, API tables and read
models in one schema of a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import build_node
from services.clock import FixedClock
from services.settings import load
from tests.harness.http_nodes import START, XA, opening, token


@pytest.mark.postgres
def test_a_node_on_postgresql_records_steps_and_serves_its_board(
    tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:
    settings = load(agency=XA, data_dir=tmp_path, database_url=f"{postgres_url}?schema={pg_schema}")
    node = build_node(settings, FixedClock(START))
    try:
        http = TestClient(create_app(node))
        auth = {"Authorization": f"Bearer {token(node)}"}
        opened = http.post("/v1/cases", json=opening(), headers={**auth, "Idempotency-Key": "k1"})
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]
        again = http.post("/v1/cases", json=opening(), headers={**auth, "Idempotency-Key": "k1"})
        assert again.json() == opened.json()  # replayed from the PostgreSQL table
        refused = http.post(f"/v1/cases/{case_id}/referral", json={}, headers=auth)
        assert refused.status_code == 409 and refused.json()["rule"] == "consent-required"
        consent = {"scopes": ["refer"], "language": "en", "interpreter": False, "given_by": "person"}
        assert http.post(f"/v1/cases/{case_id}/consent", json=consent, headers=auth).status_code == 200
        assert http.post(f"/v1/cases/{case_id}/referral", json={}, headers=auth).status_code == 200
        board = http.get("/v1/cases", headers=auth).json()
        assert [(i["id"], i["status"]) for i in board["items"]] == [(case_id, "referred")]
        assert http.get(f"/v1/cases/{case_id}", headers=auth).json()["version"] == 3
        assert not list(tmp_path.glob("*.sqlite"))  # nothing fell back to SQLite files
    finally:
        node.close()


def test_a_node_on_postgresql_keeps_documents_in_its_tables_and_erases_them(
    tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:
    """On PostgreSQL every replica reads a document: its content stays in its row, sealed
    under the case's key, and the case's erasure deletes the rows."""
    settings = load(agency=XA, data_dir=tmp_path, database_url=f"{postgres_url}?schema={pg_schema}")
    node = build_node(settings, FixedClock(START))
    try:
        http = TestClient(create_app(node))
        auth = {"Authorization": f"Bearer {token(node)}"}
        case_id = http.post("/v1/cases", json=opening(), headers=auth).json()["id"]
        content = b"%PDF-1.7\nQpgdoccanary\n" + bytes(range(256)) * 600  # past a row's 64 KiB
        added = http.post(f"/v1/cases/{case_id}/documents", content=content, headers={
            **auth, "Content-Type": "application/pdf",
            "Content-Disposition": 'attachment; filename="scan.pdf"'})
        assert added.status_code == 201, added.text
        got = http.get(f"/v1/cases/{case_id}/documents/{added.json()['id']}", headers=auth)
        assert got.status_code == 200 and got.content == content
        [row] = node.tables.run(f"SELECT content FROM {node.tables.table('homeward_documents')}"
                                ).rows
        assert row[0] is not None and b"Qpgdoccanary" not in row[0].encode()
        assert not (tmp_path / "documents").exists()  # no file: the row holds it
        supervisor = {"Authorization": f"Bearer {token(node, 'supervisor')}"}
        erased = http.post(f"/v1/cases/{case_id}/erasure", json={"reason": "subject-request"},
                           headers=supervisor)
        assert erased.status_code == 200, erased.text
        assert node.tables.run(f"SELECT count(*) FROM {node.tables.table('homeward_documents')}"
                               ).rows == [(0,)]
        listing = http.get(f"/v1/cases/{case_id}/documents", headers=auth).json()
        assert listing["documents"] == [] and listing["erased"] is True
    finally:
        node.close()
