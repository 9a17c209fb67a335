"""The schema files pass a validator that is not ours: the check-jsonschema command.

Its command is run in this process (click's runner, as its own tests do), not as a program
of its own per schema: the same checks without starting an interpreter 64 times."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from check_jsonschema import main as check_jsonschema_command
from click.testing import CliRunner

from services.contract.registry import SCHEMAS_DIR

SCHEMA_FILES = sorted(SCHEMAS_DIR.glob("*.schema.json"))


@dataclass(frozen=True)
class Checked:
    returncode: int
    stdout: str
    stderr: str


def _check_jsonschema(*args: str) -> Checked:
    result = CliRunner().invoke(check_jsonschema_command, list(args), catch_exceptions=False)
    return Checked(result.exit_code, result.stdout, result.stderr)


def _write_examples(schema_file: Path, into: Path, examples: list[object]) -> list[str]:
    paths = []
    for index, example in enumerate(examples):
        path = into / f"{schema_file.name.removesuffix('.schema.json')}.example{index}.json"
        path.write_text(json.dumps(example))
        paths.append(str(path))
    return paths


def test_every_schema_file_is_valid_against_the_metaschema() -> None:
    assert len(SCHEMA_FILES) >= 30
    result = _check_jsonschema("--check-metaschema", *map(str, SCHEMA_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("schema_file", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_example_is_valid_for_check_jsonschema(schema_file: Path, tmp_path: Path) -> None:
    examples = json.loads(schema_file.read_text())["examples"]
    result = _check_jsonschema(
        "--schemafile", str(schema_file), *_write_examples(schema_file, tmp_path, examples)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_jsonschema_does_check_formats_here(tmp_path: Path) -> None:
    # Without this, the test above could pass on an example with a malformed date-time.
    schema_file = SCHEMAS_DIR / "departure-confirmed.v1.schema.json"
    bad = _write_examples(schema_file, tmp_path, [{"departed_at": "2025-06-10 08:42"}])
    result = _check_jsonschema("--schemafile", str(schema_file), *bad)
    assert result.returncode == 1
    assert "is not a 'date-time'" in result.stdout
