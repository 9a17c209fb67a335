"""`homeward directory`'s core: entries made from a node's keys, accepted, checked;
keys rotated with their validity; the check names each fault it finds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.cli import main
from services.exchange import entries
from services.exchange.directory import Directory, load
from services.signing import load_or_create

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def two_agencies(tmp_path: Path) -> Directory:
    directory = Directory()
    for code in ("XA-NRM", "XB-NRM"):
        entry = entries.own_entry(directory, tmp_path / code, code, None)
        directory = entries.accepted(directory, entry)
    return entries.with_corridor(directory, "XA-NRM", "XB-NRM")


def test_a_fresh_pair_with_its_corridor_passes_the_check(tmp_path: Path) -> None:
    assert entries.problems(two_agencies(tmp_path), NOW) == []


def test_an_entry_reads_back_from_its_file_with_the_same_fingerprints(tmp_path: Path) -> None:
    directory = two_agencies(tmp_path)
    entry = entries.entry_of(directory, "XB-NRM")
    assert entry is not None
    again = entries.Entry.from_file(json.loads(json.dumps(entry.to_file())))
    assert entries.describe(again) == entries.describe(entry)
    key = load_or_create(tmp_path / "XB-NRM", "XB-NRM")
    assert entries.fingerprint(key.public_b64) in "\n".join(entries.describe(entry))


def test_the_check_names_an_expired_key(tmp_path: Path) -> None:
    directory, _ = entries.rotate(two_agencies(tmp_path), tmp_path / "XB-NRM", "XB-NRM",
                                  "signing", NOW, timedelta(days=1), timedelta(days=30))
    assert entries.problems(directory, NOW + timedelta(days=2)) == []
    found = entries.problems(directory, NOW + timedelta(days=31))
    assert len(found) == 1 and found[0].startswith("XB-NRM: no signing key valid now")
    assert "expired at" in found[0]


def test_the_check_names_a_corridor_to_an_unknown_agency(tmp_path: Path) -> None:
    directory = entries.with_corridor(two_agencies(tmp_path), "XA-NRM", "XC-NRM")
    assert entries.problems(directory, NOW) == [
        "corridor XA-NRM -> XC-NRM: XC-NRM is not in the directory (unknown agency)"]


def test_the_check_names_a_missing_sealing_key(tmp_path: Path) -> None:
    directory = two_agencies(tmp_path)
    bare = directory.agencies["XB-NRM"].model_copy(update={"sealing_key": None,
                                                           "sealing_key_id": None})
    directory = directory.model_copy(update={"agencies": {**directory.agencies,
                                                          "XB-NRM": bare}})
    assert entries.problems(directory, NOW) == [
        "XB-NRM: missing sealing key: nothing can be sealed to it"]


def test_a_rotated_sealing_key_is_listed_beside_the_old_until_the_overlap_ends(
        tmp_path: Path) -> None:
    before = two_agencies(tmp_path)
    old = before.sealing("XB-NRM", NOW)
    directory, done = entries.rotate(before, tmp_path / "XB-NRM", "XB-NRM", "sealing", NOW,
                                     timedelta(days=7), None)
    assert directory.sealing("XB-NRM", NOW + timedelta(seconds=1)).sealing_key_id == done.key_id
    listed = directory.agencies["XB-NRM"].listed_sealing
    assert [k.sealing_key_id for k in listed] == [old.sealing_key_id, done.key_id]
    assert listed[0].not_after == NOW + timedelta(days=7)
    # the node still keeps the old private half, to open what was sealed to it
    assert any((tmp_path / "XB-NRM" / "sealing-keys").glob(f"{old.sealing_key_id}.until-*"))


def test_the_commands_refuse_an_entry_not_accepted_and_check_exits_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("HOMEWARD_AGENCY", "HOMEWARD_DATA_DIR", "HOMEWARD_DIRECTORY", "HOMEWARD_KEY_DIR"):
        monkeypatch.delenv(name, raising=False)
    xa, xb = tmp_path / "xa", tmp_path / "xb"
    assert main(["directory", "init", "--agency", "XB-NRM", "--data-dir", str(xb),
                 "--output", str(tmp_path / "xb.json")]) == 0
    assert main(["directory", "init", "--agency", "XA-NRM", "--data-dir", str(xa)]) == 0
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["directory", "add", str(tmp_path / "xb.json"), "--agency", "XA-NRM",
                 "--data-dir", str(xa)]) != 0
    assert set(load(xa / "directory.json").agencies) == {"XA-NRM"}
    assert main(["directory", "corridor", "add", "XA-NRM", "XB-NRM", "--data-dir", str(xa),
                 "--agency", "XA-NRM"]) == 0
    capsys.readouterr()
    assert main(["directory", "check", "--data-dir", str(xa), "--agency", "XA-NRM"]) == 1
    assert "XB-NRM is not in the directory" in capsys.readouterr().out
    assert main(["directory", "add", str(tmp_path / "xb.json"), "--accept", "--agency",
                 "XA-NRM", "--data-dir", str(xa)]) == 0
    assert main(["directory", "check", "--data-dir", str(xa), "--agency", "XA-NRM"]) == 0
