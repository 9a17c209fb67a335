"""A case transferred to a third agency, walked over the real broker with three agency
nodes: XA refers to XB, then transfers the case to XC. The case is closed `transferred`
at XA and XB, a new case is opened, consented and referred towards XC, naming the old
case at XA only; nothing XB recorded reaches XC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.harness.exchange_nodes import agency_code
from tests.harness.http_nodes import HttpNode, Network, kafka_network, opening

XB_CANARY = "Borisxbcanary"  # what only the old partner wrote
CONSENT = {"scopes": ["refer", "share_identity", "share_health", "return", "monitoring"],
           "language": "en", "interpreter": False, "given_by": "person"}


@pytest.fixture
def net(tmp_path: Path, kafka_bootstrap: str) -> Iterator[Network]:
    xa, xb, xc = agency_code("XA"), agency_code("XB"), agency_code("XC")
    network = kafka_network(tmp_path, kafka_bootstrap, [xa, xb, xc], [(xa, xb), (xa, xc)])
    network.codes = (xa, xb, xc)  # type: ignore[attr-defined]
    yield network
    network.close()


def step(http: HttpNode, case_id: str, path: str, body: Any, role: str = "caseworker") -> None:
    answer = http.step(case_id, path, body, role)
    assert answer.status_code == 200, (path, answer.text)


def transfer(http: HttpNode, case_id: str, to: str, role: str = "supervisor",
             reason: str = "A third country accepts her.") -> Any:
    return http.post(f"/v1/cases/{case_id}/transfer", {"to_agency": to, "reason": reason}, role)


def test_a_case_transferred_to_a_third_agency_over_the_broker(net: Network) -> None:
    xa_code, xb_code, xc_code = net.codes  # type: ignore[attr-defined]
    xa, xb, xc = (net.nodes[c] for c in (xa_code, xb_code, xc_code))
    opened = xa.post("/v1/cases", opening(receiving_agency=xb_code))
    assert opened.status_code == 201, opened.text
    old = opened.json()["id"]
    step(xa, old, "consent", CONSENT)
    step(xa, old, "referral", {"note": "She asks to travel with her sister."})
    net.sync()
    step(xb, old, "acknowledgement", {
        "contact": {"name": XB_CANARY, "email": "desk@xb.example"},
        "deputy": {"name": "Deputy", "email": "deputy@xb.example"}})
    net.sync()
    assert XB_CANARY in xa.get(f"/v1/cases/{old}/timeline").text  # XA holds XB's facts

    # Refusals first, each leaving the case as it was.
    version = xa.state(old)["version"]
    refused = transfer(xa, old, xc_code)
    assert refused.status_code == 409 and refused.json()["rule"] == "consent-required"
    assert transfer(xa, old, xc_code, role="caseworker").status_code == 403
    assert transfer(xa, old, xb_code).status_code == 422  # already its partner
    assert transfer(xa, old, "XD-NRM").status_code == 422  # on no corridor from XA
    assert transfer(xb, old, xc_code).status_code == 403  # the receiving agency's supervisor
    assert xa.post(f"/v1/cases/{old}/transfer", {"to_agency": xc_code}, "supervisor"
                   ).status_code == 422
    assert xa.state(old)["version"] == version

    # The person consents to be referred to XC; while her asylum claim is open the case
    # is referred nowhere, and the refusal changes nothing.
    step(xa, old, "consent", {**CONSENT, "scopes": ["refer"], "refer_to": xc_code})
    step(xa, old, "asylum-claim", {"lodged_on": str(net.clock.now().date())})
    version, cases = xa.state(old)["version"], xa.get("/v1/cases").json()["total"]
    held = transfer(xa, old, xc_code)
    assert held.status_code == 409 and held.json()["rule"] == "asylum-guard", held.text
    assert xa.state(old)["version"] == version and not xa.state(old)["closed"]
    assert xa.get("/v1/cases").json()["total"] == cases
    step(xa, old, "asylum-claim-closure", {"outcome": "refused"})
    moved = transfer(xa, old, xc_code)
    assert moved.status_code == 201, moved.text
    new = moved.json()["id"]
    assert new != old and moved.headers["Location"] == f"/v1/cases/{new}"
    net.sync()

    for http in (xa, xb):  # closed `transferred` at the first pair
        state = http.state(old)
        assert state["closed"] is True and state["closure_reason"] == "transferred", http.agency
    at_xa = xa.state(new)
    assert at_xa["transferred_from"] == old and at_xa["receiving"] == xc_code
    assert at_xa["consent"] == sorted(CONSENT["scopes"]) and at_xa["person"] is not None
    assert at_xa["referred_at"] is not None
    carried = [e["type"] for e in xa.timeline(new, "supervisor")]
    assert carried == ["CaseOpened", "ConsentRecorded", "ReferralSent"]  # no refused claim

    at_xc = xc.state(new)  # opened at the new agency, a fresh case
    assert at_xc["referring"] == xa_code and at_xc["side"] == "receiving"
    assert at_xc["transferred_from"] is None
    assert at_xc["person"]["family_name"] == at_xa["person"]["family_name"]
    assert at_xc["consent"] == sorted(CONSENT["scopes"])
    timeline = xc.timeline(new, "supervisor")
    assert [e["type"] for e in timeline] == ["CaseOpened", "ConsentRecorded", "ReferralSent"]
    assert {e["recorded_by"] for e in timeline} == {xa_code}
    answers = "\n".join(xc.get(path, role).text for role in ("caseworker", "supervisor")
                        for path in (f"/v1/cases/{new}", f"/v1/cases/{new}/timeline",
                                     "/v1/cases"))
    assert XB_CANARY not in answers and xb_code not in answers and old not in answers
    assert xc.get(f"/v1/cases/{old}").status_code == 404  # XC never heard of the old case
    with pytest.raises(Exception, match=str(old)):
        xc.node.app.case(UUID(old))
    assert not any(e["data"].get("refer_to") for e in timeline)  # the consent's naming stays
    # XB learns nothing of the new case.
    assert xb.get(f"/v1/cases/{new}").status_code == 404
    # The old case is closed for good: a second transfer is refused by the sequence.
    again = transfer(xa, old, xc_code)
    assert again.status_code == 409 and again.json()["rule"] == "sequence"


def test_a_transfer_the_closure_refuses_changes_neither_case(net: Network) -> None:
    """A referral the receiving agency accepted is that agency's to close: the transfer is
    refused by the closure's own rule, after the new case was built in memory, and
    nothing of either is saved."""
    xa_code, xb_code, xc_code = net.codes  # type: ignore[attr-defined]
    xa, xb = net.nodes[xa_code], net.nodes[xb_code]
    old = xa.post("/v1/cases", opening(kind="referral", receiving_agency=xb_code)).json()["id"]
    step(xa, old, "consent", CONSENT)
    step(xa, old, "referral", {})
    net.sync()
    step(xb, old, "acknowledgement", {
        "contact": {"name": "Desk", "email": "desk@xb.example"},
        "deputy": {"name": "Deputy", "email": "deputy@xb.example"}})
    step(xb, old, "acceptance", {"note": "accepted"})
    net.sync()
    step(xa, old, "consent", {**CONSENT, "scopes": ["refer"], "refer_to": xc_code})
    version, cases = xa.state(old)["version"], xa.get("/v1/cases").json()["total"]
    refused = transfer(xa, old, xc_code)
    assert refused.status_code == 403 and refused.json()["rule"] == "step-owner", refused.text
    assert xa.state(old)["version"] == version and not xa.state(old)["closed"]
    assert xa.get("/v1/cases").json()["total"] == cases
