"""The schema registry: every file in `schemas/`, indexed by (message type, version).

Schemas are data shared with partner agencies; this module only reads them. Each schema
gets one validator with format checking on, so a malformed uuid, date or date-time is a
contract violation and not a string that happens to pass.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from services.contract.passing import Check, passing

# `schemas/` at the top of the source tree, reached through the link beside this module, so
# the schemas are package data and an installed node reads the ones its wheel carries.
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
ENVELOPE = "envelope"
SEALED = "homeward.envelope.v2"  # the `envelope` field of a sealed envelope
FILE_NAME = re.compile(
    r"^(?P<type>[a-z0-9]+(?:-[a-z0-9]+)*)\.v(?P<version>[1-9][0-9]*)\.schema\.json$"
)
SCHEMA_NAME = re.compile(r"^homeward\.(?P<type>[a-z0-9-]+)\.v(?P<version>[1-9][0-9]*)$")
PROTECTED = "x-protected"  # annotation naming the consent scope a field needs to cross the border
LOCAL_ONLY = "x-local-only"  # annotation of free text that never crosses the border

Key = tuple[str, int]


def schema_id(message_type: str, version: int) -> str:
    return f"urn:homeward:schema:{message_type}:v{version}"


def schema_name(message_type: str, version: int) -> str:
    """The envelope's `schema` field and the Kafka `schema` header."""
    return f"homeward.{message_type}.v{version}"


def parse_schema_name(name: str) -> Key:
    match = SCHEMA_NAME.fullmatch(name)
    if match is None:
        raise ContractError([FieldError("schema", f"{name!r} is not homeward.<type>.v<N>")])
    return match["type"], int(match["version"])


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ContractError(ValueError):
    """A message or payload does not match the contract; `errors` names each bad field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


def new_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def load_file(path: Path) -> tuple[Key, dict[str, Any]]:
    """Reads one schema file; its name gives the type and version."""
    match = FILE_NAME.fullmatch(path.name)
    if match is None:
        raise ValueError("file name is not <message-type>.v<N>.schema.json")
    schema = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(schema, dict):
        raise ValueError("a schema file must hold a JSON object")
    return (match["type"], int(match["version"])), schema


def protected_fields(schema: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted property paths annotated as protected, with the consent scope each needs."""
    found: dict[str, str] = {}
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        if PROTECTED in sub:
            found[path] = sub[PROTECTED]
        found.update(protected_fields(sub, f"{path}."))
    return found


def local_only_fields(schema: Mapping[str, Any]) -> set[str]:
    """Property names annotated as local-only: the codec never sends them."""
    return {name for name, sub in schema.get("properties", {}).items() if sub.get(LOCAL_ONLY)}


def _dotted(root: str, parts: Iterable[str | int]) -> str:
    out = root
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(message)"


def _short(message: str, limit: int = 200) -> str:
    # A long pattern or enum is no use in an error line.
    return message if len(message) <= limit else message[: limit - 3] + "..."


def field_errors(errors: Iterable[ValidationError], root: str) -> list[FieldError]:
    """Turns jsonschema errors into one error per offending field, sorted by path.

    No value of the message is ever echoed (a free-text field may hold a name): error text
    reaches logs, problem details and dead letters.
    """
    found: dict[str, FieldError] = {}
    for error in errors:
        parts = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            named = [n for n in error.validator_value if n not in error.instance]
            pairs = [([*parts, name], "required property is missing") for name in named]
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            extra = [n for n in error.instance if n not in known]
            pairs = [([*parts, name], "unexpected property") for name in extra]
        else:
            # jsonschema's own message quotes the value; only the rule it broke is told.
            hint = f"{error.validator}: {error.validator_value}"
            pairs = [(parts, f"invalid value ({_short(hint, 80)})")]
        for where, message in pairs:
            path = _dotted(root, where)
            found.setdefault(f"{path}\0{message}", FieldError(path, message))
    return sorted(found.values(), key=lambda e: (e.path, e.message))


class Registry:
    """Every known schema, its validator, and the latest version of each message type."""

    def __init__(self, schemas: Mapping[Key, dict[str, Any]]) -> None:
        self._schemas = dict(schemas)
        self._validators = {key: new_validator(schema) for key, schema in self._schemas.items()}
        # What plainly meets its schema passes without jsonschema (services/contract/passing.py)
        self._passing: dict[Key, Check] = {
            key: passing(schema, Draft202012Validator.FORMAT_CHECKER)
            for key, schema in self._schemas.items()}
        self._versions: dict[str, list[int]] = {}
        for message_type, version in sorted(self._schemas):
            self._versions.setdefault(message_type, []).append(version)

    @classmethod
    def load(cls, schemas_dir: Path | None = None) -> Registry:
        directory = schemas_dir or SCHEMAS_DIR
        return cls(dict(load_file(path) for path in sorted(directory.glob("*.json"))))

    def message_types(self) -> list[str]:
        return sorted(t for t in self._versions if t != ENVELOPE)

    def versions(self, message_type: str) -> list[int]:
        if message_type not in self._versions:
            raise ContractError([FieldError("schema", f"unknown message type {message_type!r}")])
        return list(self._versions[message_type])

    def latest(self, message_type: str) -> int:
        return self.versions(message_type)[-1]

    def schema(self, message_type: str, version: int) -> dict[str, Any]:
        self._known(message_type, version)
        return self._schemas[(message_type, version)]

    def protected_fields(self, message_type: str, version: int) -> dict[str, str]:
        return protected_fields(self.schema(message_type, version))

    def validate_payload(self, message_type: str, version: int, payload: Any) -> None:
        self._known(message_type, version)
        if self._passing[(message_type, version)](payload):
            return
        errors = self._validators[(message_type, version)].iter_errors(payload)
        problems = field_errors(errors, "payload")
        if problems:
            raise ContractError(problems)

    def validate_envelope(self, envelope: Any, version: int = 1) -> None:
        """The envelope only; its payload is checked by `validate_payload` or `validate_message`.
        Version 2 is the sealed envelope, whose payload only its recipient can read."""
        self._known(ENVELOPE, version)
        if self._passing[(ENVELOPE, version)](envelope):
            return
        validator = self._validators[(ENVELOPE, version)]
        problems = field_errors(validator.iter_errors(envelope), "")
        if problems:
            raise ContractError(problems)

    def validate_message(self, envelope: Any) -> Key:
        """Envelope and payload; returns the (type, version) the envelope names. Of a sealed
        envelope, only what is in clear: its payload opens at its recipient only."""
        if isinstance(envelope, dict) and envelope.get("envelope") == SEALED:
            self.validate_envelope(envelope, 2)
            return parse_schema_name(envelope["schema"])
        self.validate_envelope(envelope, message_version(envelope))
        message_type, version = parse_schema_name(envelope["schema"])
        self.validate_payload(message_type, version, envelope["payload"])
        return message_type, version

    def _known(self, message_type: str, version: int) -> None:
        if (message_type, version) not in self._schemas:
            reason = f"unknown schema {schema_name(message_type, version)}"
            raise ContractError([FieldError("schema", reason)])


@functools.cache
def default_registry() -> Registry:
    """The repository's schemas, read once per process."""
    return Registry.load()


def validate_payload(message_type: str, version: int, payload: Any) -> None:
    default_registry().validate_payload(message_type, version, payload)


def message_version(envelope: Any) -> int:
    """The version of a message's (unsealed) envelope: 3 carries the sender's checkpoint,
    1 does not; a reader takes both."""
    return 3 if isinstance(envelope, dict) and "checkpoint" in envelope else 1


def validate_envelope(envelope: Any, version: int = 1) -> None:
    default_registry().validate_envelope(envelope, version)


def validate_message(envelope: Any) -> Key:
    return default_registry().validate_message(envelope)
