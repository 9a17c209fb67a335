"""The schemas and the domain's step bodies describe the same messages.

A field the domain records but the schema lacks, or a schema stricter than the domain,
would make the codec refuse a valid step at the border.
"""

from __future__ import annotations

from typing import Any

import pytest

from events.steps import STEPS, OpenCase, Step
from services.contract import default_registry
from services.contract.registry import local_only_fields

REGISTRY = default_registry()
SHARED = [step for step in STEPS.values() if step.shared]  # crossing always or by consent
# Fields the message carries beyond the step's request body.
ADDED = {"case-opened": {"referring_agency"}, "risk-assessed": {"side", "safety_plan_in_place"},
         "transit-incident-recorded": {"side"}, "protection-incident-recorded": {"side"},
         "shelter-admitted": {"side"}, "shelter-left": {"side"}, "service-delivered": {"side"}, "protection-measure-recorded": {"side"}}


def _latest(message_type: str) -> dict[str, Any]:
    return REGISTRY.schema(message_type, REGISTRY.latest(message_type))


def _props(message_type: str) -> dict[str, Any]:
    return _latest(message_type)["properties"]


@pytest.mark.parametrize("step", SHARED, ids=lambda step: step.message_type)
def test_every_shared_step_has_a_schema_with_its_fields(step: Step) -> None:
    body = set(step.body.model_fields) - set(step.local_only)  # those never cross
    props = set(_props(step.message_type))
    assert body <= props, f"missing in the schema: {body - props}"
    required = set(_latest(step.message_type)["required"])
    # A later version may require what the domain leaves optional: the upcaster fills it.
    upcast_filled = {"escort_organisation"} if step.message_type == "transport-planned" else set()
    assert required <= body | ADDED.get(step.message_type, set()) | upcast_filled


@pytest.mark.parametrize("step", SHARED, ids=lambda step: step.message_type)
def test_protected_fields_agree_with_the_domain(step: Step) -> None:
    declared = REGISTRY.protected_fields(step.message_type, REGISTRY.latest(step.message_type))
    for scope, fields in step.protected.items():
        for name in fields:
            assert declared.get(name) == scope.value, name


def test_steps_that_stay_home_have_no_schema() -> None:
    local = {step.message_type for step in STEPS.values() if not step.shared}
    assert local, "asylum and legal-proceedings steps are not shared"
    assert local.isdisjoint(REGISTRY.message_types())


def _bodies() -> list[Any]:
    cases = [(s.message_type, s.body) for s in SHARED] + [("case-opened", OpenCase)]
    return [pytest.param(t, body, id=t) for t, body in cases]


@pytest.mark.parametrize(("message_type", "body"), _bodies())
def test_schema_examples_are_valid_step_bodies(message_type: str, body: Any) -> None:
    # Examples with every field the body requires must be bodies the domain accepts.
    required = {name for name, f in body.model_fields.items() if f.is_required()}
    checked = 0
    local = {"basis"} if message_type == "stay-decided" else set()  # the stay's basis stays home
    examples = [example for version in REGISTRY.versions(message_type)
                for example in REGISTRY.schema(message_type, version)["examples"]]
    for example in examples:
        fields = {k: v for k, v in example.items() if k in body.model_fields}
        fields |= {name: "other" for name in local}
        if required <= set(fields):
            body.model_validate(fields)
            checked += 1
    assert checked, f"no example of {message_type} carries all of {sorted(required)}"


@pytest.mark.parametrize("step", SHARED, ids=lambda step: step.message_type)
def test_local_only_fields_agree_with_the_domain(step: Step) -> None:
    for version in REGISTRY.versions(step.message_type):
        schema = REGISTRY.schema(step.message_type, version)
        # A version from before its free text had a class sent what a later one marks.
        assert local_only_fields(schema) <= set(step.local_only) & set(schema["properties"])
    latest = _latest(step.message_type)
    assert local_only_fields(latest) == set(step.local_only) & set(latest["properties"])
