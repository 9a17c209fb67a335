"""The cross-border contract: the JSON Schemas in `schemas/`, loaded, validated and upcast."""

from services.contract.registry import (
    ENVELOPE,
    ContractError,
    FieldError,
    Registry,
    default_registry,
    parse_schema_name,
    schema_name,
    validate_envelope,
    validate_message,
    validate_payload,
)
from services.contract.upcasting import accept, upcast

__all__ = [
    "ENVELOPE",
    "ContractError",
    "FieldError",
    "Registry",
    "accept",
    "default_registry",
    "parse_schema_name",
    "schema_name",
    "upcast",
    "validate_envelope",
    "validate_message",
    "validate_payload",
]
