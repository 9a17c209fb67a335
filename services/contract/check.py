"""Every schema valid, its examples valid, its versions compatible.

Partner agencies build against these files, so a broken example or a version that drops a
field an older consumer relies on must fail here, before anything is published.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from services.contract.registry import (
    ENVELOPE,
    LOCAL_ONLY,
    PROTECTED,
    ContractError,
    Key,
    Registry,
    load_file,
    local_only_fields,
    protected_fields,
    schema_id,
)
from services.contract.upcasting import upcast

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SEALED_ENVELOPE: Key = (ENVELOPE, 2)  # what a broker record is (registry.SEALED)


@dataclass(frozen=True)
class Problem:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


def file_name(key: Key) -> str:
    return f"{key[0]}.v{key[1]}.schema.json"


def check(schemas_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    loaded: dict[Key, dict[str, Any]] = {}
    for path in sorted(schemas_dir.glob("*.json")):
        try:
            key, schema = load_file(path)
        except (ValueError, OSError) as exc:
            problems.append(Problem(path.name, str(exc)))
            continue
        reasons = list(_check_schema(key, schema))
        problems += [Problem(path.name, reason) for reason in reasons]
        if not reasons:
            loaded[key] = schema
    for envelope in ((ENVELOPE, 1), SEALED_ENVELOPE):
        if envelope not in loaded:
            problems.append(Problem(file_name(envelope), "missing or invalid"))
    registry = Registry(loaded)
    for key, schema in sorted(loaded.items()):
        problems += [Problem(file_name(key), r) for r in _check_examples(registry, key, schema)]
    for message_type in registry.message_types():
        problems += _check_versions(registry, message_type)
    return problems


def _check_schema(key: Key, schema: Mapping[str, Any]) -> Iterator[str]:
    if schema.get("$schema") != DRAFT:
        yield f"$schema must be {DRAFT}"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        yield f"not a valid schema at {where}: {exc.message}"
        return
    if schema.get("$id") != schema_id(*key):
        yield f"$id is {schema.get('$id')!r}, expected {schema_id(*key)!r}"
    yield from _check_layer(key, schema)
    yield from _check_objects(schema, "")
    examples = schema.get("examples")
    if not isinstance(examples, list) or not examples:
        yield "needs at least one example"


def wire_layer(key: Key) -> tuple[str, str]:
    """Which layer of the wire a schema is, as its title and its description name it: the
    sealed envelope every broker record is (envelope v2), the message inside it (the other
    envelope versions, v3 the newest), or a message's payload."""
    if key == SEALED_ENVELOPE:
        return "Sealed envelope", "the sealed envelope"
    if key[0] == ENVELOPE:
        return "Message inside the sealed envelope", "the message inside the sealed envelope"
    return "(payload)", "a payload"


def _check_layer(key: Key, schema: Mapping[str, Any]) -> Iterator[str]:
    """A reader must not take the newest envelope schema for the broker's records."""
    in_title, in_description = wire_layer(key)
    if in_title not in str(schema.get("title", "")):
        yield f"the title must name the layer of the wire: {in_title!r}"
    if in_description not in str(schema.get("description", "")).lower():
        yield f"the description must name the layer of the wire: {in_description!r}"


def _check_objects(schema: Any, where: str) -> Iterator[str]:
    """Every object with properties is closed; protected fields are optional."""
    if not isinstance(schema, dict):
        return
    properties = schema.get("properties")
    if isinstance(properties, dict):
        if schema.get("additionalProperties") is not False:
            yield f"{where.rstrip('.') or '(root)'}: additionalProperties must be false"
        for name, sub in properties.items():
            if isinstance(sub, dict) and PROTECTED in sub and name in schema.get("required", []):
                yield f"{where}{name}: a protected field must be optional (the codec may remove it)"
            if isinstance(sub, dict) and sub.get(LOCAL_ONLY) and name in schema.get("required", []):
                yield f"{where}{name}: a local-only field must be optional (it is never sent)"
            yield from _check_objects(sub, f"{where}{name}.")
    for keyword in ("items", "additionalProperties"):
        yield from _check_objects(schema.get(keyword), f"{where}{keyword}.")


def _check_examples(registry: Registry, key: Key, schema: Mapping[str, Any]) -> Iterator[str]:
    examples = schema.get("examples", [])
    for index, example in enumerate(examples):
        try:
            if key[0] == ENVELOPE:
                registry.validate_message(example)
            else:
                registry.validate_payload(*key, example)
        except ContractError as exc:
            yield f"examples[{index}] is invalid: {exc}"
    protected = protected_fields(schema)
    if protected and key[0] != ENVELOPE:
        shown = [any(_has(example, path) for path in protected) for example in examples]
        if not (any(shown) and not all(shown)):
            yield "needs an example with and an example without its protected fields"


def _has(example: Any, dotted: str) -> bool:
    for part in dotted.split("."):
        if not isinstance(example, dict) or part not in example:
            return False
        example = example[part]
    return True


def required_paths(schema: Any, prefix: str = "") -> set[str]:
    """Dotted paths of properties required at their level (inside optional parents too)."""
    if not isinstance(schema, dict):
        return set()
    found: set[str] = set()
    required = schema.get("required", [])
    for name, sub in schema.get("properties", {}).items():
        if name in required:
            found.add(f"{prefix}{name}")
        found |= required_paths(sub, f"{prefix}{name}.")
    return found


def _check_versions(registry: Registry, message_type: str) -> list[Problem]:
    problems: list[Problem] = []
    versions = registry.versions(message_type)
    latest = versions[-1]
    for position, earlier in enumerate(versions):
        old = registry.schema(message_type, earlier)
        for later in versions[position + 1 :]:
            new = registry.schema(message_type, later)
            # Free text a later version classifies may no longer be required: the codec
            # drops it without consent (protected) or always (local-only).
            classified = {*protected_fields(new), *local_only_fields(new)}
            for path in sorted(required_paths(old) - required_paths(new) - classified):
                reason = f"drops {path}, which v{earlier} requires"
                problems.append(Problem(file_name((message_type, later)), reason))
        if earlier == latest:
            continue
        for index, example in enumerate(old.get("examples", [])):
            try:
                version, payload = upcast(message_type, earlier, example, registry)
                registry.validate_payload(message_type, version, payload)
            except ContractError as exc:
                reason = f"examples[{index}] upcast to v{latest} is invalid: {exc}"
                problems.append(Problem(file_name((message_type, earlier)), reason))
    return problems


def summary(schemas_dir: Path) -> str:
    """One line on a directory that passed `check`: how much was checked."""
    registry = Registry.load(schemas_dir)
    files = len(list(schemas_dir.glob("*.json")))
    examples = sum(
        len(registry.schema(t, v).get("examples", []))
        for t in [*registry.message_types(), ENVELOPE]
        for v in registry.versions(t)
    )
    types = len(registry.message_types())
    return (
        f"schemas check: {files} files, {types} message types and the envelope, "
        f"{examples} examples: all valid"
    )
