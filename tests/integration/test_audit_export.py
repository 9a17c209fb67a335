"""Exports an auditor can hand on: signed by the node, saying who exported them, when, why
and whether personal data is in them; checked offline with the trust directory alone, an
untouched file passes and a file altered by one character fails, naming the line."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest

from services.cli import main
from services.exchange.directory import publish
from services.files import default_key_dir
from services.signing import SigningKey, load_or_create
from tests.integration.test_audit_cli import a_case


@pytest.fixture
def node_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv("HOMEWARD_DATA_DIR", str(tmp_path / "node"))
    return tmp_path / "node"


def exported(node_dir: Path, case_id: UUID, fmt: str, *extra: str) -> Path:
    out = node_dir / f"record.{fmt}"
    assert main(["audit", "export", str(case_id), "--format", fmt, "--output", str(out),
                 "--by", "inspector-7", "--purpose", "court order 12/2025", *extra]) == 0
    return out


def check(path: Path, court: Path) -> int:
    return main(["audit", "check-export", str(path), "--directory",
                 str(court / "directory.json")])


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_an_untouched_export_passes_with_the_trust_directory_alone(
        node_dir: Path, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, case_id = a_case(node_dir)
    out = exported(node_dir, case_id, fmt)
    court = tmp_path / "court"
    court.mkdir()
    publish(court / "directory.json", load_or_create(default_key_dir(node_dir), "XA-NRM"))
    handed_on = tmp_path / "handed-on" / out.name  # the file alone, away from the node
    handed_on.parent.mkdir()
    handed_on.write_bytes(out.read_bytes())
    monkeypatch.delenv("HOMEWARD_AGENCY")
    monkeypatch.delenv("HOMEWARD_DATA_DIR")
    monkeypatch.chdir(court)
    assert [p.name for p in court.iterdir()] == ["directory.json"]
    capsys.readouterr()
    assert check(handed_on, court) == 0
    assert "intact, signed by XA-NRM" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_an_export_altered_by_one_character_fails_naming_the_line(
        node_dir: Path, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    _, case_id = a_case(node_dir)
    out = exported(node_dir, case_id, fmt)
    court = tmp_path / "court"
    court.mkdir()
    publish(court / "directory.json", load_or_create(default_key_dir(node_dir), "XA-NRM"))
    lines = out.read_text().split("\n")
    target = next(n for n, line in enumerate(lines) if "inspector-7" in line)
    lines[target] = lines[target].replace("inspector-7", "inspector-1")
    out.write_text("\n".join(lines))
    capsys.readouterr()
    assert check(out, court) == 1
    said = capsys.readouterr().out
    assert f"line {target + 1} was altered" in said
    assert said.count("was altered") == 1  # that line only


def test_a_json_export_says_who_when_why_and_whether_personal(
        node_dir: Path) -> None:
    _, case_id = a_case(node_dir)
    record = json.loads(exported(node_dir, case_id, "json").read_text())
    assert (record["exported_by"], record["purpose"], record["personal_data"]) == (
        "inspector-7", "court order 12/2025", False)
    assert record["export"] == "homeward.export.v1" and record["agency"] == "XA-NRM"
    assert record["exported_at"] and record["chain_intact"] and len(record["events"]) == 3
    assert record["signature"]["agency"] == "XA-NRM" and len(record["signature"]["lines"]) > 10


def test_a_forged_signature_or_an_unknown_signer_fails(
        node_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    _, case_id = a_case(node_dir)
    out = exported(node_dir, case_id, "json")
    court = tmp_path / "court"
    court.mkdir()
    publish(court / "directory.json", SigningKey.generate("XA-NRM"))  # another key
    assert check(out, court) == 1
    assert "is not in the trust directory" in capsys.readouterr().out
    publish(court / "directory.json", load_or_create(default_key_dir(node_dir), "XA-NRM"))
    text = out.read_text()
    signature = json.loads(text)["signature"]["signature"]
    out.write_text(text.replace(signature, signature[::-1]))
    capsys.readouterr()
    assert check(out, court) == 1
    lines = text.split("\n")
    signature_line = next(n for n, line in enumerate(lines) if line.startswith('  "signature"'))
    assert f"line {signature_line + 1} was altered" in capsys.readouterr().out


def test_check_export_refuses_without_a_directory_or_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOMEWARD_DIRECTORY", raising=False)
    assert main(["audit", "check-export", "nothing.json"]) == 2
    assert "no trust directory" in capsys.readouterr().err
    (tmp_path / "directory.json").write_text('{"agencies": 7}')
    (tmp_path / "plain.json").write_text('{"case_id": "x"}\n')
    assert main(["audit", "check-export", "plain.json"]) == 2
    assert "is not readable" in capsys.readouterr().err
    (tmp_path / "directory.json").write_text("{}")
    assert main(["audit", "check-export", "nothing.json"]) == 2
    (tmp_path / "plain.json").write_text('{"case_id": "x"}\n')
    assert main(["audit", "check-export", "plain.json"]) == 1
    assert "no signature line" in capsys.readouterr().out
