"""Every schema's examples pass; every kind of bad message is refused, naming the field.

The bad messages are derived from the schemas themselves (each required field removed,
each field given a wrong type, an extra property in each object, each uuid/date/date-time
malformed), so a new message type is covered without writing its tests by hand.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from events.steps import STEPS
from events.steps.opening import CaseOpened
from services.contract import (
    ENVELOPE,
    ContractError,
    default_registry,
    validate_envelope,
    validate_message,
    validate_payload,
)
from services.contract.check import check
from services.contract.codec import MILESTONE
from services.contract.registry import SCHEMAS_DIR

REGISTRY = default_registry()
NOT_STEPS = {"receipt", MILESTONE}
KEYS = [(t, v) for t in [*REGISTRY.message_types(), ENVELOPE] for v in REGISTRY.versions(t)]
BAD_FORMATS = {"uuid": "1234-not-a-uuid", "date": "2025-02-30", "date-time": "2025-06-10 08:30"}
JSON_TYPES = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    dict: "object",
    type(None): "null",
}
CANDIDATES: list[Any] = ["wrong", 12345, 1.5, True, ["wrong"], {"wrong": 1}, None]


def _wrong_value(schema: dict[str, Any]) -> Any:
    allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    for value in CANDIDATES:
        kind = JSON_TYPES[type(value)]
        if kind not in allowed and not (kind == "integer" and "number" in allowed):
            return value
    raise AssertionError(f"no wrong type for {allowed}")


def _set(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


def _delete(doc: Any, path: tuple[str, ...]) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return doc


def _dotted(root: str, path: tuple[str | int, ...]) -> str:
    out = root
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _mutations(
    schema: dict[str, Any], example: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, Any, tuple[str | int, ...], str]]:
    """(label, bad document, path of the bad field, a word the error must contain)."""
    for name in schema.get("required", []):
        where = (*path, name)
        yield f"missing {_dotted('', where)}", _delete(example, where), where, "required"
    extra = (*path, "unexpected_field")
    yield f"extra {_dotted('', extra)}", _set(example, extra, "x"), extra, "unexpected property"
    for name, sub in schema["properties"].items():
        where = (*path, name)
        if _at(example, where) is _ABSENT:
            continue
        field = _dotted("", where)
        if "type" in sub:
            yield f"wrong type {field}", _set(example, where, _wrong_value(sub)), where, "type"
        if sub.get("format") in BAD_FORMATS:
            bad = BAD_FORMATS[sub["format"]]
            yield f"bad {sub['format']} {field}", _set(example, where, bad), where, sub["format"]
        items = sub.get("items")
        if sub.get("type") == "array" and isinstance(items, dict) and "type" in items:
            bad_item = _set(example, where, [_wrong_value(items)])
            yield f"wrong item type {field}", bad_item, (*where, 0), "type"
        if sub.get("type") == "object" and "properties" in sub:
            yield from _mutations(sub, example, where)


_ABSENT = object()


def _at(doc: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            return _ABSENT
        doc = doc[part]
    return doc


def _cases() -> Iterator[Any]:
    for key in KEYS:
        schema = REGISTRY.schema(*key)
        seen: set[str] = set()
        for example in schema["examples"]:
            for label, bad, path, word in _mutations(schema, example):
                if label in seen:
                    continue
                seen.add(label)
                yield pytest.param(key, bad, path, word, id=f"{key[0]}.v{key[1]}: {label}")


def _validate(key: tuple[str, int], document: Any) -> None:
    if key[0] == ENVELOPE:
        validate_envelope(document, key[1])
    else:
        validate_payload(*key, document)


def test_the_real_schemas_directory_has_no_problems() -> None:
    assert check(SCHEMAS_DIR) == []


def kebab(name: str) -> str:
    """`CaseOpened` -> `case-opened`, as the codec names a message."""
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def test_every_cross_border_step_has_a_schema() -> None:
    # The messages are the opening and each step the partner must learn, by STEPS; a
    # receipt answers a message and a milestone tells the monitor: they are no step.
    crossing = {kebab(CaseOpened.__name__)} | {
        step.message_type for step in STEPS.values() if step.shared}
    kept_home = {step.message_type for step in STEPS.values() if not step.shared}
    assert set(REGISTRY.message_types()) == crossing | NOT_STEPS
    # Asylum and legal proceedings never leave the referring agency, not even as milestones;
    # the newest milestone schema has one for every message that crosses.
    for version in REGISTRY.versions("milestone"):
        milestones = set(REGISTRY.schema("milestone", version)["properties"]["milestone"]["enum"])
        assert milestones <= crossing and not milestones & kept_home, version
    latest = REGISTRY.schema("milestone", REGISTRY.latest("milestone"))
    assert set(latest["properties"]["milestone"]["enum"]) == crossing


@pytest.mark.parametrize(
    ("key", "index"),
    [(key, i) for key in KEYS for i in range(len(REGISTRY.schema(*key)["examples"]))],
    ids=lambda value: f"{value[0]}.v{value[1]}" if isinstance(value, tuple) else str(value),
)
def test_every_example_validates(key: tuple[str, int], index: int) -> None:
    example = REGISTRY.schema(*key)["examples"][index]
    if key[0] == ENVELOPE:
        validate_message(example)
    else:
        validate_payload(*key, example)


@pytest.mark.parametrize("key", KEYS, ids=lambda key: f"{key[0]}.v{key[1]}")
def test_every_property_appears_in_some_example(key: tuple[str, int]) -> None:
    # Otherwise the generated bad messages below would never exercise that property.
    schema = REGISTRY.schema(*key)

    def paths(sub: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        for name, child in sub.get("properties", {}).items():
            yield (*prefix, name)
            yield from paths(child, (*prefix, name))

    missing = [p for p in paths(schema) if all(_at(e, p) is _ABSENT for e in schema["examples"])]
    assert missing == []


@pytest.mark.parametrize(("key", "bad", "path", "word"), list(_cases()))
def test_bad_message_is_refused_naming_the_field(
    key: tuple[str, int], bad: Any, path: tuple[str | int, ...], word: str
) -> None:
    with pytest.raises(ContractError) as refused:
        _validate(key, bad)
    expected = _dotted("" if key[0] == ENVELOPE else "payload", path)
    named = [e for e in refused.value.errors if e.path == expected]
    assert named, f"{expected} not named in: {refused.value}"
    assert any(word in e.message for e in named), str(refused.value)
    assert expected in str(refused.value)


def test_format_checking_is_really_on() -> None:
    with pytest.raises(ContractError, match=r"payload\.valid_until: invalid value \(format: date\)"):
        validate_payload(
            "risk-assessed",
            1,
            {"side": "referring", "level": "low", "factors": [], "valid_until": "x"},
        )
    envelope = copy.deepcopy(REGISTRY.schema(ENVELOPE, 1)["examples"][0])
    envelope["case_id"] = "0b9e4f3a-7c21-4d8e-a6f5-3e2d1c0b9a8"  # one hex digit short
    with pytest.raises(ContractError, match=r"^case_id: invalid value \(format: uuid\)$"):
        validate_envelope(envelope)
    with pytest.raises(ContractError, match="departed_at"):
        validate_payload("departure-confirmed", 1, {"departed_at": "2025-06-10T08:42:00"})


def test_a_message_is_checked_against_the_schema_its_envelope_names() -> None:
    envelope = copy.deepcopy(REGISTRY.schema(ENVELOPE, 1)["examples"][0])
    assert validate_message(envelope) == ("referral-sent", 1)
    envelope["payload"] = {"note": 7}
    with pytest.raises(ContractError, match=r"payload\.note"):
        validate_message(envelope)
    envelope["schema"] = "homeward.asylum-claim-recorded.v1"
    with pytest.raises(ContractError, match="unknown schema homeward.asylum-claim-recorded.v1"):
        validate_message(envelope)


def test_protected_values_are_not_echoed_in_errors() -> None:
    payload = copy.deepcopy(REGISTRY.schema("case-opened", 1)["examples"][0])
    payload["person"]["sex"] = "Amina Okafor"
    payload["person"]["date_of_birth"] = "14/07/1998"
    with pytest.raises(ContractError) as refused:
        validate_payload("case-opened", 1, payload)
    text = str(refused.value)
    assert "payload.person.sex" in text and "payload.person.date_of_birth" in text
    assert "Amina" not in text and "1998" not in text


def test_protected_fields_are_declared_with_their_consent_scope() -> None:
    assert REGISTRY.protected_fields("case-opened", 1) == {
        "person": "share_identity",
        "reason": "share_identity",
    }
    assert REGISTRY.protected_fields("transport-planned", 2) == {
        "medical_escort": "share_health",
        "fit_to_travel": "share_health",
    }
    assert REGISTRY.protected_fields("follow-up-recorded", 1) == {"wellbeing": "share_health"}
    assert REGISTRY.protected_fields("referral-sent", 1) == {"person": "share_identity",
                                                         "note": "share_identity"}
    assert REGISTRY.protected_fields("milestone", 1) == {}


def test_unknown_type_or_version_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match=r"unknown schema homeward\.referral-sent\.v9"):
        validate_payload("referral-sent", 9, {})
    with pytest.raises(ContractError, match="unknown message type"):
        REGISTRY.latest("legal-proceeding-linked")
