"""The v2 messages that gave their free text a class: each read both ways.

v1 of these types required free text (or sent a safety plan's text) whatever the consent.
v2 makes it optional and classified; a v1 message still reads, upcast without the text,
and a v2 message reads as it is.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from services.contract import ContractError, accept, default_registry
from services.contract.codec import written_version
from services.contract.registry import local_only_fields

REGISTRY = default_registry()
# Each type, the text v2 no longer carries from a v1 message, and its class in v2.
RECLASSIFIED = {
    "risk-to-life-override-recorded": ("justification", "local-only"),
    "case-reopened": ("reason", "local-only"),
    "referral-declined": ("reason", "share_identity"),
    "transport-cancelled": ("reason", "share_identity"),
    "risk-assessed": ("factors", "share_identity"),
}


def _examples(version: int) -> list[Any]:
    return [pytest.param(kind, example, id=f"{kind}.v{version}[{i}]")
            for kind in RECLASSIFIED
            for i, example in enumerate(REGISTRY.schema(kind, version)["examples"])]


@pytest.mark.parametrize("kind", RECLASSIFIED)
def test_v2_is_the_latest_and_classifies_the_text(kind: str) -> None:
    assert REGISTRY.versions(kind) == [1, 2]
    field, klass = RECLASSIFIED[kind]
    v1, v2 = REGISTRY.schema(kind, 1), REGISTRY.schema(kind, 2)
    assert field in v1["required"] and field not in v2["required"]
    if klass == "local-only":
        assert field in local_only_fields(v2)
    else:
        assert REGISTRY.protected_fields(kind, 2)[field] == klass


@pytest.mark.parametrize(("kind", "payload"), _examples(1))
def test_a_v1_message_reads_as_v2_without_its_text(kind: str, payload: dict[str, Any]) -> None:
    sent = copy.deepcopy(payload)
    version, accepted = accept(kind, 1, payload)
    assert version == 2
    assert RECLASSIFIED[kind][0] not in accepted
    assert payload == sent, "upcasting must not change the message as received"
    if kind == "risk-assessed":
        assert "safety_plan" not in accepted
        assert accepted["safety_plan_in_place"] is ("safety_plan" in sent)
        assert {k: v for k, v in accepted.items() if k != "safety_plan_in_place"} == {
            k: v for k, v in sent.items() if k not in ("factors", "safety_plan")}
    else:
        assert accepted == {k: v for k, v in sent.items() if k != RECLASSIFIED[kind][0]}


@pytest.mark.parametrize(("kind", "payload"), _examples(2))
def test_a_v2_message_reads_as_it_is(kind: str, payload: dict[str, Any]) -> None:
    assert accept(kind, 2, payload) == (2, payload)


WITHOUT_THE_TEXT = [
    ("referral-declined", {}),
    ("transport-cancelled", {}),
    ("case-reopened", {}),
    ("risk-to-life-override-recorded", {}),
    ("risk-assessed", {"side": "referring", "level": "low", "valid_until": "2031-01-01",
                       "safety_plan_in_place": False}),
]


@pytest.mark.parametrize(("kind", "payload"), WITHOUT_THE_TEXT)
def test_the_codec_writes_v2_where_v1_cannot_hold_the_message(
    kind: str, payload: dict[str, Any]
) -> None:
    # v1 required the text (or had no room for `safety_plan_in_place`).
    with pytest.raises(ContractError):
        REGISTRY.validate_payload(kind, 1, payload)
    assert written_version(kind, payload) == 2


def test_the_codec_writes_v2_with_the_text_too() -> None:
    assert written_version("referral-declined", {"reason": "No capacity."}) == 2


def test_a_v2_risk_assessment_must_say_whether_a_plan_is_in_place() -> None:
    without = {"side": "receiving", "level": "high", "valid_until": "2031-01-01"}
    with pytest.raises(ContractError, match=r"payload\.safety_plan_in_place: required"):
        REGISTRY.validate_payload("risk-assessed", 2, without)
