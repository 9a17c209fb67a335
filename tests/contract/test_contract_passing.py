"""The schemas' compiled checks (services/contract/passing.py) pass only what jsonschema
passes: every example of every schema, and none of the damaged documents jsonschema
refuses; a keyword the check does not model makes it pass nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from services.contract.passing import passing
from services.contract.registry import ContractError, Key, default_registry, new_validator

REGISTRY = default_registry()
KEYS = sorted(REGISTRY._schemas)
FORMATS = Draft202012Validator.FORMAT_CHECKER

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**20) | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["", "a", "2026-12-07", "2026-12-07T10:00:00Z", "2026-02-30",
                       "6b1e7c52-1d8c-4a4e-9c39-2a8f9a3c4d11", "not-a-uuid", "XA-NRM",
                       "x@example.org", "consent", "referring", "receiving", "a" * 600]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for name, item in value.items():
            found += _paths(item, (*prefix, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _damaged(example: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    """The example with the value at `path` replaced, removed, or a property added."""
    if not path:
        return value
    doc = copy.deepcopy(example)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "remove" and isinstance(parent, dict):
        del parent[last]
    elif how == "add" and isinstance(parent, dict):
        parent["unexpected_" + str(last)] = value
    else:
        parent[last] = value
    return doc


@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"{k[0]}.v{k[1]}")
def test_every_example_passes_without_jsonschema(key: Key) -> None:
    schema = REGISTRY.schema(*key)
    check = passing(schema, FORMATS)
    assert schema["examples"]
    for example in schema["examples"]:
        assert check(example)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_passes_jsonschema_refuses_nothing_of(data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(KEYS))
    schema = REGISTRY.schema(*key)
    example = data.draw(st.sampled_from(schema["examples"]))
    path = data.draw(st.sampled_from(_paths(example)))
    how = data.draw(st.sampled_from(["replace", "remove", "add"]))
    document = _damaged(example, path, how, data.draw(json_values))
    refused = any(True for _ in new_validator(schema).iter_errors(document))
    if passing(schema, FORMATS)(document):
        assert not refused


def test_a_refused_document_is_named_by_jsonschema() -> None:
    example = copy.deepcopy(REGISTRY.schema("envelope", 3)["examples"][0])
    example["sequence"] = 0
    del example["sender"]
    with pytest.raises(ContractError) as refused:
        REGISTRY.validate_envelope(example, 3)
    assert [(e.path, e.message) for e in refused.value.errors] == [
        ("sender", "required property is missing"),
        ("sequence", "invalid value (minimum: 1)")]


@pytest.mark.parametrize("schema", [
    {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
    {"type": ["string", "null"]},
    {"$ref": "#/$defs/x"},
    {"enum": [{"a": 1}]},
    {"type": "array", "items": [{"type": "string"}]},
])
def test_a_keyword_not_modelled_passes_nothing(schema: dict[str, Any]) -> None:
    check = passing(schema, FORMATS)
    for value in ("a", None, {"a": "b"}, ["a"], {"x": 1}):
        assert not check(value)


def test_values_jsonschema_would_judge_otherwise_are_left_to_it() -> None:
    integer = passing({"type": "integer", "minimum": 1}, FORMATS)
    assert integer(2) and not integer(True) and not integer(2.0) and not integer(0)
    choice = passing({"enum": ["a", 1, None]}, FORMATS)
    assert choice("a") and choice(1) and choice(None)
    assert not choice(True) and not choice(1.0) and not choice("b")
    dated = passing({"type": "string", "format": "date"}, FORMATS)
    assert dated("2026-12-07") and not dated("2026-02-30")
