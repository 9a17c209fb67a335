"""A schema compiled into a check that passes what plainly meets it, faster than jsonschema.

jsonschema checks a document by walking its schema with a validator made again for every
value it descends into: some 0.3 ms for a message's envelope or payload, about five times a
message. The schemas (`schemas/`) use a few keywords only, on JSON's own values; each is
compiled once into plain comparisons, never more lenient than jsonschema: a format is asked
of jsonschema's own format checker, a pattern found by `re.search` as jsonschema finds it,
an `enum` or `const` matched by value and exact type, and any keyword, type or value this
module does not model makes the check answer no. What it passes, jsonschema passes; what it
does not, the registry hands to jsonschema, which finds and names the errors (or none).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import FormatChecker

Check = Callable[[Any], bool]

ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "examples", "$comment",
                         "default"})
# jsonschema's types, each by the exact Python types JSON decodes to (jsonschema also takes
# subclasses, and an integral float as an integer: this check leaves those to it).
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "object": (dict,), "array": (list,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),)}
JSON = frozenset({str, int, float, bool, type(None), dict, list})
SCALARS = (str, int, bool, type(None))  # what `enum` and `const` match here


def never(value: Any) -> bool:
    return False


def passing(schema: Any, formats: FormatChecker) -> Check:
    """A check that passes only documents jsonschema (draft 2020-12, with `formats`) passes."""
    if not isinstance(schema, Mapping):
        return never
    checks: list[Check] = []
    for keyword, value in schema.items():
        if keyword in ANNOTATIONS or keyword.startswith("x-") or keyword in OBJECT:
            continue
        make = KEYWORDS.get(keyword)
        made = make(value, schema, formats) if make is not None else None
        if made is None:
            return never
        checks.append(made)
    if any(keyword in schema for keyword in OBJECT):
        made = _object(schema, formats)
        if made is None:
            return never
        checks.append(made)

    def check(value: Any) -> bool:
        if type(value) not in JSON:
            return False
        for each in checks:  # noqa: SIM110 (a loop: all() over a generator costs more)
            if not each(value):
                return False
        return True
    return check


def _type(name: Any, schema: Any, formats: FormatChecker) -> Check | None:
    kinds = TYPES.get(name) if isinstance(name, str) else None
    return None if kinds is None else (lambda value: type(value) in kinds)


OBJECT = ("properties", "required", "additionalProperties")


def _object(schema: Mapping[str, Any], formats: FormatChecker) -> Check | None:
    """`properties`, `required` and `additionalProperties` in one pass over an object."""
    properties, required = schema.get("properties", {}), schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        return None
    subs = {name: passing(sub, formats) for name, sub in properties.items()}
    other: Check | None = None if extra is True else (
        never if extra is False else passing(extra, formats))

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return True  # these keywords judge objects only
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            sub = subs.get(name, other)
            if sub is not None and not sub(item):
                return False
        return True
    return check


def _items(items: Any, schema: Any, formats: FormatChecker) -> Check | None:
    if not isinstance(items, Mapping):
        return None
    sub = passing(items, formats)
    return lambda value: type(value) is not list or all(sub(item) for item in value)


def _enum(members: Any, schema: Any, formats: FormatChecker) -> Check | None:
    if not isinstance(members, list) or not all(type(m) in SCALARS for m in members):
        return None
    kept = [(type(m), m) for m in members]
    return lambda value: any(type(value) is kind and value == m for kind, m in kept)


def _const(member: Any, schema: Any, formats: FormatChecker) -> Check | None:
    return _enum([member], schema, formats)


def _length(least: bool) -> Callable[[Any, Any, FormatChecker], Check | None]:
    def make(bound: Any, schema: Any, formats: FormatChecker) -> Check | None:
        if type(bound) is not int:
            return None
        if least:
            return lambda value: type(value) is not str or len(value) >= bound
        return lambda value: type(value) is not str or len(value) <= bound
    return make


def _count(least: bool) -> Callable[[Any, Any, FormatChecker], Check | None]:
    def make(bound: Any, schema: Any, formats: FormatChecker) -> Check | None:
        if type(bound) is not int:
            return None
        if least:
            return lambda value: type(value) is not list or len(value) >= bound
        return lambda value: type(value) is not list or len(value) <= bound
    return make


def _bound(least: bool) -> Callable[[Any, Any, FormatChecker], Check | None]:
    def make(bound: Any, schema: Any, formats: FormatChecker) -> Check | None:
        if type(bound) not in (int, float):
            return None

        def check(value: Any) -> bool:
            if type(value) not in (int, float):
                return True  # jsonschema bounds numbers only (a boolean is none)
            return bool(value >= bound if least else value <= bound)
        return check
    return make


def _pattern(pattern: Any, schema: Any, formats: FormatChecker) -> Check | None:
    if not isinstance(pattern, str):
        return None
    return lambda value: type(value) is not str or re.search(pattern, value) is not None


def _format(name: Any, schema: Any, formats: FormatChecker) -> Check | None:
    if not isinstance(name, str):
        return None
    return lambda value: formats.conforms(value, name)


def _unique(unique: Any, schema: Any, formats: FormatChecker) -> Check | None:
    if unique is False:
        return lambda value: True
    if unique is not True:
        return None
    return lambda value: type(value) is not list or (
        all(type(item) is str for item in value) and len(set(value)) == len(value))


KEYWORDS: dict[str, Callable[[Any, Any, FormatChecker], Check | None]] = {
    "type": _type, "items": _items, "enum": _enum, "const": _const,
    "minLength": _length(True), "maxLength": _length(False),
    "minItems": _count(True), "maxItems": _count(False),
    "minimum": _bound(True), "maximum": _bound(False),
    "pattern": _pattern, "format": _format, "uniqueItems": _unique,
}
