"""What a partner's node answers is checked before it is compared: anything but a chain view
of the case asked about, by the partner asked, is refused with a reason that quotes nothing."""

from __future__ import annotations

import json

import pytest

from services.anchors.remote import PartnerUnreachable, checked

CASE = "0b9e4f3a-7c21-4d8e-a6f5-3e2d1c0b9a87"
H = "ab" * 32


def view(**changes: object) -> bytes:
    base = {"case_id": CASE, "agency": "XB-NRM", "head": {"version": 4, "hash": H},
            "erased": False, "sent": [{"sequence": 1, "digest": H, "version": 4, "hash": H}],
            "received": [{"sequence": 1, "sender_hash": H, "version": 2}],
            "checkpoints": [{"case_id": CASE, "agency": "XB-NRM", "version": 4, "hash": H,
                             "at": "2025-03-03T09:00:00+00:00", "key_id": "k",
                             "signature": "c2ln", "message": {"sequence": 1, "hash": H}}]}
    return json.dumps({**base, **changes}).encode()


def test_a_chain_view_of_the_case_by_the_partner_is_taken() -> None:
    taken = checked(view(), "XB-NRM", CASE)
    assert taken["head"] == {"version": 4, "hash": H}
    assert taken["checkpoints"][0]["message"] == {"sequence": 1, "hash": H}


@pytest.mark.parametrize("body", [
    b"not json", b"[]", view(head={"version": "4", "hash": H}), view(sent=[{"sequence": 1}]),
    view(received=[{"sequence": 0, "sender_hash": H, "version": 1}]),
    view(checkpoints=[{"version": 1}]), view(head={"version": 4, "hash": "Amina Okafor"}),
])
def test_anything_else_is_refused_quoting_nothing(body: bytes) -> None:
    with pytest.raises(PartnerUnreachable) as refused:
        checked(body, "XB-NRM", CASE)
    assert "Amina" not in str(refused.value)


def test_another_agencys_or_cases_view_is_refused() -> None:
    with pytest.raises(PartnerUnreachable, match="another agency's or case's"):
        checked(view(agency="XC-NRM"), "XB-NRM", CASE)
    with pytest.raises(PartnerUnreachable, match="another agency's or case's"):
        checked(view(case_id="00000000-0000-4000-8000-000000000000"), "XB-NRM", CASE)
