"""An auditor replays a timeline, verifies chains and exports files; a forged event is named."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from events.steps import OpenCase
from services.anchors.links import ChainReader, StoredLink
from services.application import Homeward
from services.bootstrap import persistence_env
from services.cli import main
from services.clock import FixedClock
from services.settings import load
from tests.harness.builders import ANNA, CANARY, T0, bodies, opening
from tests.harness.stores import homeward


@pytest.fixture
def node_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv("HOMEWARD_DATA_DIR", str(tmp_path))
    return tmp_path


def a_case(data_dir: Path) -> tuple[Homeward, UUID]:
    app = homeward(persistence_env(load()), FixedClock(T0))
    case_id = app.open_case(OpenCase.model_validate(opening()), ANNA).id
    for path in ("consent", "referral"):
        app.record(case_id, path, bodies(T0)[path], ANNA)
    return app, case_id


def forge(app: Homeward, db: Path, case_id: UUID, version: int) -> None:
    """Rewrite one stored event's data, as someone with the key and the file could."""
    stored = app.recorder.select_events(case_id)[version - 1]
    event = app.mapper.to_domain_event(stored)
    forged = dataclasses.replace(event, data={**event.data, "note": "forged"})  # type: ignore[type-var]
    state = app.mapper.to_stored_event(forged).state
    with sqlite3.connect(db) as conn:
        updated = conn.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND "
                     "originator_version = ?", (state, case_id.hex, version))
    assert updated.rowcount == 1


def test_verify_passes_then_names_the_forged_event(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app, case_id = a_case(node_dir)
    assert main(["audit", "verify"]) == 0
    assert "1 case(s) checked, 0 break(s)" in capsys.readouterr().out
    forge(app, node_dir / "events.sqlite", case_id, 3)
    assert main(["audit", "verify", str(case_id)]) == 1
    assert "event 3 (ReferralSent): hash does not match" in capsys.readouterr().out


def test_exports_redact_personal_data_unless_asked(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, case_id = a_case(node_dir)
    out = node_dir / "timeline.json"
    assert main(["audit", "export", str(case_id), "--output", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["chain_intact"] and len(document["events"]) == 3
    assert CANARY not in out.read_text() and "family_name" not in out.read_text()
    assert document["events"][0]["redacted"] == ["person", "reason"]
    assert main(["audit", "export", str(case_id), "--format", "html", "--personal"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!doctype html>") and CANARY in page and "record is intact" in page


def test_an_unknown_case_is_a_clear_error(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_case(node_dir)
    assert main(["audit", "timeline", "00000000-0000-4000-8000-000000000000"]) == 1
    assert "no such case" in capsys.readouterr().err


def access_entries(data_dir: Path, case_id: UUID) -> list[tuple[str, str, str, str | None]]:
    from services.backends.sqlite import SQLiteTables
    from services.tables.access import AccessLog

    tables, app = SQLiteTables(data_dir / "api.sqlite"), homeward(persistence_env(load()))
    try:  # the purposes are under the case's key, as the API records them
        log = AccessLog(tables, app.mapper.cipher, app.keys)
        stored = [row[0] for row in tables.run("SELECT purpose FROM homeward_access_log").rows]
        assert not any("court order" in str(purpose) for purpose in stored)
        return [(a.agency, a.sub, a.what, a.purpose) for a in log.of_case(case_id)]
    finally:
        tables.close()
        app.close()


def test_a_personal_export_is_logged_and_readable_by_its_owner_only(
    node_dir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    import os
    import stat

    _, case_id = a_case(node_dir)
    redacted, personal = node_dir / "redacted.json", node_dir / "personal.json"
    personal.write_text("an older file, world-readable")
    personal.chmod(0o644)
    previous = os.umask(0o000)  # the most permissive umask: the mode must not depend on it
    try:
        assert main(["audit", "export", str(case_id), "--output", str(redacted)]) == 0
        assert access_entries(node_dir, case_id) == []  # nothing personal was read
        assert main(["audit", "export", str(case_id), "--personal", "--output", str(personal),
                     "--by", "inspector-7", "--purpose", "court order 12/2025"]) == 0
        assert main(["audit", "export", str(case_id), "--personal", "--format", "html"]) == 0
    finally:
        os.umask(previous)
    assert CANARY in personal.read_text()
    assert stat.S_IMODE(personal.stat().st_mode) == 0o600
    entries = access_entries(node_dir, case_id)
    assert entries[0] == ("XA-NRM", "inspector-7", "export:json", "court order 12/2025")
    assert entries[1][1].startswith("cli:") and entries[1][2:] == ("export:html", None)
    assert len(entries) == 2


def test_the_whole_store_is_verified_on_every_core_as_on_one(
    node_dir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Ranges of cases in worker processes, each chain read from its stored rows: a forged
    event with no personal data (checked without decrypting anything) and one with sealed
    personal data are both named, in the store's order, as one process names them."""
    made = [a_case(node_dir) for _ in range(20)]
    app = made[0][0]
    assert main(["audit", "verify", "--workers", "2"]) == 0
    assert "20 case(s) checked, 0 break(s)" in capsys.readouterr().out
    plain, sealed = made[4][1], made[13][1]
    forge(app, node_dir / "events.sqlite", sealed, 3)  # ReferralSent: its note is sealed
    stored = app.recorder.select_events(plain)[1]  # ConsentRecorded: nothing personal
    assert b"sealed_personal" not in app.mapper.cipher.decrypt(stored.state)
    assert isinstance(ChainReader(app).link(stored), StoredLink)  # read with no event made
    forge(app, node_dir / "events.sqlite", plain, 2)

    assert main(["audit", "verify", "--workers", "2"]) == 1
    on_two = capsys.readouterr().out.splitlines()
    assert on_two == [
        f"case {plain}: event 2 (ConsentRecorded): hash does not match the event's content",
        f"case {sealed}: event 3 (ReferralSent): hash does not match the event's content "
        "(note is not the value its commitment covers)",
        "20 case(s) checked, 2 break(s)"]
    assert main(["audit", "verify", "--workers", "1"]) == 1
    assert capsys.readouterr().out.splitlines() == on_two
