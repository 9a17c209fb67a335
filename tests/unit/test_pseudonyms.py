"""Keyed pseudonyms: both agencies of a corridor derive the same ones from their own keys,
and nobody with only the case id (or the old unkeyed derivation) can."""

from __future__ import annotations

import uuid
from uuid import NAMESPACE_URL, uuid5

import pytest

from services.exchange.directory import Directory
from services.exchange.pseudonyms import NoSealingKey, Pseudonyms
from services.signing import SigningKey

XA, XB, XC = "XA-NRM", "XB-NRM", "XC-NRM"
KEYS = {code: SigningKey.generate(code) for code in (XA, XB, XC)}
TRUST = Directory().with_agency(KEYS[XA]).with_agency(KEYS[XB]).with_agency(KEYS[XC])


def of(agency: str, directory: Directory = TRUST) -> Pseudonyms:
    return Pseudonyms(KEYS[agency].sealing, lambda: directory)


def test_both_agencies_of_a_corridor_derive_the_same_pseudonyms() -> None:
    case_id = uuid.uuid4()
    assert of(XA).monitoring(XA, XB, case_id) == of(XB).monitoring(XA, XB, case_id)
    assert of(XA).case_ref(XA, XB, case_id) == of(XB).case_ref(XA, XB, case_id)


def test_the_pseudonyms_reveal_and_link_nothing() -> None:
    case_id = uuid.uuid4()
    alias, ref = of(XA).monitoring(XA, XB, case_id), of(XA).case_ref(XA, XB, case_id)
    # Not the case id, not the unkeyed uuid5 anyone could compute, not each other.
    unkeyed = uuid5(NAMESPACE_URL, f"homeward-monitoring:{case_id}")
    assert len({case_id, alias, ref, unkeyed}) == 4
    # Another corridor (another partner) keys the same case id differently.
    assert of(XA).monitoring(XA, XC, case_id) != alias
    # Another case under the same secret gets another pseudonym.
    assert of(XA).monitoring(XA, XB, uuid.uuid4()) != alias


def test_a_partner_without_a_sealing_key_gets_no_pseudonym() -> None:
    unsealed = Directory().with_agency(KEYS[XA])
    with pytest.raises(NoSealingKey, match=XB):
        of(XA, unsealed).case_ref(XA, XB, uuid.uuid4())
