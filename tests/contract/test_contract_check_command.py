"""`homeward schemas check`: passes on the real schemas, fails naming the file on bad ones."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.cli import main
from services.contract.registry import SCHEMAS_DIR

Edit = Callable[[dict[str, Any]], None]


def _copy_with(tmp_path: Path, file: str, edit: Edit) -> Path:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, copy)
    path = copy / file
    schema = json.loads(path.read_text())
    edit(schema)
    path.write_text(json.dumps(schema, indent=2))
    return copy


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    status = main(["schemas", "check", *args])
    return status, capsys.readouterr().out.splitlines()


def test_passes_on_the_real_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = _run(capsys)
    assert status == 0
    assert len(lines) == 1 and "all valid" in lines[0]


def _drop_required_route(schema: dict[str, Any]) -> None:
    schema["required"].remove("route")
    del schema["properties"]["route"]
    for example in schema["examples"]:
        example.pop("route")


def _make_route_optional(schema: dict[str, Any]) -> None:
    schema["required"].remove("route")


def _drop_nested_required(schema: dict[str, Any]) -> None:
    schema["properties"]["deputy"]["required"].remove("email")


def _unclassify_reason(schema: dict[str, Any]) -> None:
    del schema["properties"]["reason"]["x-local-only"]


def _unprotect_factors(schema: dict[str, Any]) -> None:
    del schema["properties"]["factors"]["x-protected"]


def _break_an_example(schema: dict[str, Any]) -> None:
    schema["examples"][0]["valid_until"] = "end of June"


def _break_a_transport_example(schema: dict[str, Any]) -> None:
    schema["examples"][0]["arrival_at"] = "noon"


def _wrong_id(schema: dict[str, Any]) -> None:
    schema["$id"] = "urn:homeward:schema:risk-assessed:v2"


def _open_nested_object(schema: dict[str, Any]) -> None:
    del schema["properties"]["person"]["additionalProperties"]


def _require_protected(schema: dict[str, Any]) -> None:
    schema["required"].append("wellbeing")


def _invalid_schema(schema: dict[str, Any]) -> None:
    schema["properties"]["month"]["minimum"] = "one"


def _only_protected_examples(schema: dict[str, Any]) -> None:
    schema["examples"] = [schema["examples"][0]]


@pytest.mark.parametrize(
    ("file", "edit", "reason"),
    [
        (
            "transport-planned.v2.schema.json",
            _drop_required_route,
            "drops route, which v1 requires",
        ),
        ("transport-planned.v2.schema.json", _make_route_optional, "drops route"),
        # Required free text may become optional only as it gets a class.
        ("case-reopened.v2.schema.json", _unclassify_reason, "drops reason, which v1 requires"),
        ("risk-assessed.v2.schema.json", _unprotect_factors, "drops factors, which v1 requires"),
        ("transport-planned.v2.schema.json", _break_a_transport_example, "examples[0] is invalid"),
        ("risk-assessed.v1.schema.json", _break_an_example, "payload.valid_until"),
        ("risk-assessed.v1.schema.json", _wrong_id, "$id is"),
        ("case-opened.v1.schema.json", _open_nested_object, "person: additionalProperties"),
        (
            "follow-up-recorded.v1.schema.json",
            _require_protected,
            "protected field must be optional",
        ),
        ("follow-up-recorded.v1.schema.json", _invalid_schema, "not a valid schema"),
        ("follow-up-recorded.v1.schema.json", _only_protected_examples, "example without"),
    ],
    ids=[
        "drops required",
        "required made optional",
        "required local-only text unclassified",
        "required protected text unprotected",
        "broken v2 example",
        "broken example",
        "wrong $id",
        "open object",
        "protected required",
        "invalid schema",
        "no example without protected fields",
    ],
)
def test_fails_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str, edit: Edit, reason: str
) -> None:
    status, lines = _run(capsys, "--dir", str(_copy_with(tmp_path, file, edit)))
    assert status == 1
    assert any(line.startswith(f"{file}: ") and reason in line for line in lines), lines


def test_a_nested_required_field_may_not_be_dropped_either(tmp_path: Path) -> None:
    from services.contract.check import check

    copy = _copy_with(tmp_path, "referral-acknowledged.v1.schema.json", lambda s: None)
    v2 = json.loads((copy / "referral-acknowledged.v1.schema.json").read_text())
    v2["$id"] = "urn:homeward:schema:referral-acknowledged:v2"
    _drop_nested_required(v2)
    (copy / "referral-acknowledged.v2.schema.json").write_text(json.dumps(v2))
    reasons = [str(p) for p in check(copy)]
    assert "referral-acknowledged.v2.schema.json: drops deputy.email, which v1 requires" in reasons
    # The new version also has no upcaster, so its v1 examples cannot reach it.
    assert any(
        r.startswith("referral-acknowledged.v1.schema.json: examples[0] upcast")
        and "no upcaster" in r
        for r in reasons
    )


def test_an_older_example_that_fails_after_upcasting_is_reported(tmp_path: Path) -> None:
    def v2_pins_the_escort_organisation(schema: dict[str, Any]) -> None:
        schema["properties"]["escort_organisation"]["enum"] = ["IOM XA mission", "none"]

    copy = _copy_with(tmp_path, "transport-planned.v2.schema.json", v2_pins_the_escort_organisation)
    from services.contract.check import check

    reasons = [str(p) for p in check(copy)]
    assert any(
        r.startswith("transport-planned.v1.schema.json: examples[0] upcast to v2 is invalid")
        for r in reasons
    ), reasons


def test_unreadable_files_and_bad_names_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, copy)
    (copy / "shelter-left.v1.schema.json").write_text("{not json")
    (copy / "ShelterLeft.json").write_text("{}")
    status, lines = _run(capsys, "--dir", str(copy))
    assert status == 1
    assert any(line.startswith("shelter-left.v1.schema.json: ") for line in lines)
    assert any(line.startswith("ShelterLeft.json: file name") for line in lines)


def test_a_missing_directory_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = _run(capsys, "--dir", str(tmp_path / "nowhere"))
    assert status == 1 and "not a directory" in lines[0]
