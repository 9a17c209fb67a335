"""The schema files pass a validator that is not ours: the check-jsonschema command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.contract.registry import SCHEMAS_DIR

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
SCHEMA_FILES = sorted(SCHEMAS_DIR.glob("*.schema.json"))


def _check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), *args], capture_output=True, text=True, timeout=120, check=False
    )


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
