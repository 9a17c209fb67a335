"""Upcasting: a consumer accepts every version it knows and works with the latest.

Each upcaster is a pure function from the payload of version N to version N + 1; a chain
of them takes any known version to the latest. Adding a version to `schemas/` means adding
its upcaster here (`homeward schemas check` fails until it exists).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.contract.registry import (
    ContractError,
    FieldError,
    Registry,
    default_registry,
    schema_name,
)

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


def _transport_planned_v1_to_v2(payload: Payload) -> Payload:
    # v1 senders never named the escort organisation; receiving agencies asked for it in v2.
    return {**payload, "escort_organisation": "unspecified"}


def _milestone_v1_to_v2(payload: Payload) -> Payload:
    # v2 only adds milestones (the return's hold, incidents in transit) and `incident`.
    return dict(payload)


def _unchanged(payload: Payload) -> Payload:
    # The next version only adds an optional field (a child's views heard; an early return
    # requested) or milestone names, which an older sender never knew of: its message is
    # valid as it is.
    return dict(payload)


def _without(*names: str) -> Upcaster:
    """v1 of these types required free text that v2 classifies (docs/cross-border.md, free
    text has a class). A v1 sender sent it whatever the consent, so the receiver cannot know
    whether it was allowed to cross: it is not kept. The fact itself is."""
    def upcaster(payload: Payload) -> Payload:
        return {k: v for k, v in payload.items() if k not in names}
    return upcaster


def _risk_assessed_v1_to_v2(payload: Payload) -> Payload:
    # v2 sends that a safety plan is in place, never its text; the factors only under consent.
    kept = _without("safety_plan", "factors")(payload)
    return {**kept, "safety_plan_in_place": bool(payload.get("safety_plan"))}


def _receiving_side(payload: Payload) -> Payload:
    # Before help on both sides, only the receiving agency recorded shelter and services.
    return {"side": "receiving", **payload}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("transport-planned", 1): _transport_planned_v1_to_v2,
    ("milestone", 1): _milestone_v1_to_v2,
    ("milestone", 2): _unchanged,
    ("milestone", 3): _unchanged,
    ("milestone", 4): _unchanged,
    ("consent-recorded", 1): _unchanged,
    ("return-decision-recorded", 1): _unchanged,
    ("return-decision-recorded", 2): _unchanged,
    ("risk-to-life-override-recorded", 1): _without("justification"),
    ("case-reopened", 1): _without("reason"),
    ("referral-declined", 1): _without("reason"),
    ("transport-cancelled", 1): _without("reason"),
    ("risk-assessed", 1): _risk_assessed_v1_to_v2,
    ("shelter-admitted", 1): _receiving_side,
    ("shelter-left", 1): _receiving_side,
    ("service-delivered", 1): _receiving_side,
}


def upcast(
    message_type: str, version: int, payload: Payload, registry: Registry | None = None
) -> tuple[int, Payload]:
    """Returns (latest version, payload as that version); the input is left untouched."""
    registry = registry or default_registry()
    known = registry.versions(message_type)
    if version not in known:
        reason = f"unknown schema {schema_name(message_type, version)}"
        raise ContractError([FieldError("schema", reason)])
    while version < known[-1]:
        step = UPCASTERS.get((message_type, version))
        if step is None:
            reason = f"no upcaster from {schema_name(message_type, version)}"
            raise ContractError([FieldError("schema", reason)])
        payload = step(payload)
        version += 1
    return version, payload


def accept(
    message_type: str, version: int, payload: Payload, registry: Registry | None = None
) -> tuple[int, Payload]:
    """What an inbox does: validate as sent, upcast, validate as the latest version."""
    registry = registry or default_registry()
    registry.validate_payload(message_type, version, payload)
    latest, upcast_payload = upcast(message_type, version, payload, registry)
    if latest != version:  # sent as the latest, it was just validated as that
        registry.validate_payload(message_type, latest, upcast_payload)
    return latest, upcast_payload
