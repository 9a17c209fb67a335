"""Each schema names which layer of the wire it is, so nobody validates a broker record
against the newest envelope schema (the message inside the sealed envelope): the check
fails on a schema whose title or description does not say, and schemas/README.md names
the file a broker record is validated with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from services.contract.check import check, wire_layer

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_every_schema_names_its_layer() -> None:
    assert check(SCHEMAS) == []
    assert wire_layer(("envelope", 2))[0] == "Sealed envelope"
    assert wire_layer(("envelope", 3))[0] == "Message inside the sealed envelope"
    assert wire_layer(("case-opened", 1))[0] == "(payload)"


def test_a_schema_that_does_not_name_its_layer_fails_the_check(tmp_path: Path) -> None:
    copy = shutil.copytree(SCHEMAS, tmp_path / "schemas")
    newest = copy / "envelope.v3.schema.json"
    schema = json.loads(newest.read_text())
    newest.write_text(json.dumps({**schema, "title": "Envelope with a checkpoint"}))
    payload = copy / "receipt.v1.schema.json"
    schema = json.loads(payload.read_text())
    payload.write_text(json.dumps({**schema, "description": "A receipt."}))
    assert [str(p) for p in check(copy)] == [
        "envelope.v3.schema.json: the title must name the layer of the wire: "
        "'Message inside the sealed envelope'",
        "receipt.v1.schema.json: the description must name the layer of the wire: "
        "'a payload'"]


def test_the_readme_names_the_file_a_broker_record_is_validated_with() -> None:
    readme = (SCHEMAS / "README.md").read_text()
    broker_row = next(line for line in readme.splitlines()
                      if line.startswith("| the sealed envelope |"))
    assert "`envelope.v2.schema.json`" in broker_row and "on the broker" in broker_row
