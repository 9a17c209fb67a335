"""A consumer accepts every version it knows: transport-planned v1 arrives as v2."""

from __future__ import annotations

import copy

import pytest

from services.contract import ContractError, accept, default_registry, upcast
from services.contract.registry import Registry

REGISTRY = default_registry()
V1 = REGISTRY.schema("transport-planned", 1)["examples"]
V2 = REGISTRY.schema("transport-planned", 2)["examples"]


def test_transport_planned_v2_is_the_latest_and_requires_the_escort_organisation() -> None:
    assert REGISTRY.versions("transport-planned") == [1, 2]
    assert REGISTRY.latest("transport-planned") == 2
    with pytest.raises(ContractError, match=r"payload\.escort_organisation: required"):
        REGISTRY.validate_payload("transport-planned", 2, V1[0])


@pytest.mark.parametrize("payload", V1, ids=["with health data", "without"])
def test_v1_is_accepted_after_upcasting(payload: dict) -> None:
    sent = copy.deepcopy(payload)
    version, accepted = accept("transport-planned", 1, payload)
    assert version == 2
    assert accepted == {**sent, "escort_organisation": "unspecified"}
    assert payload == sent, "upcasting must not change the message as received"


@pytest.mark.parametrize("payload", V2, ids=["with health data", "without"])
def test_v2_is_accepted_as_it_is(payload: dict) -> None:
    assert accept("transport-planned", 2, payload) == (2, payload)


def test_a_bad_v1_is_refused_before_upcasting() -> None:
    bad = {**V1[0], "departure_at": "tomorrow morning"}
    with pytest.raises(ContractError, match=r"payload\.departure_at"):
        accept("transport-planned", 1, bad)


def test_a_type_with_one_version_upcasts_to_itself() -> None:
    payload = {"departed_at": "2025-06-10T08:42:00+02:00"}
    assert upcast("departure-confirmed", 1, payload) == (1, payload)


def test_unknown_versions_are_refused() -> None:
    with pytest.raises(ContractError, match=r"unknown schema homeward\.transport-planned\.v3"):
        upcast("transport-planned", 3, V2[0])


def test_a_version_without_an_upcaster_is_refused() -> None:
    schema = REGISTRY.schema("departure-confirmed", 1)
    registry = Registry({("departure-confirmed", 1): schema, ("departure-confirmed", 2): schema})
    with pytest.raises(ContractError, match=r"no upcaster from homeward\.departure-confirmed\.v1"):
        upcast("departure-confirmed", 1, {"departed_at": "2025-06-10T08:42:00Z"}, registry)
