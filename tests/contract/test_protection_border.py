"""What stays home after the hand-off as before it: every envelope (to the partner and to
the monitor) of the protection scenarios is read, field by field and value by value, for
an incident's details, a penalty matter, a supervisor's justification."""

from __future__ import annotations

import pytest

from events.rules import DataMinimisation
from events.steps import STEPS
from events.values import Actor
from tests.contract.test_rights_border import envelopes, keys_and_values
from tests.harness.builders import REPATRIATION, SARA, XA, XB, Story, snapshot
from tests.harness.given import Messages

THREAT = "Zzthreatcanary left a note at the shelter"
MISSING = "Zzmissingcanary not seen since Sunday"
JUSTIFIED = "Zzchoicecanary: she asked to return to her children"
FORBIDDEN = ("details", "zzthreatcanary", "zzmissingcanary", "penalty", "removal", "fine",
             "justification", "zzchoicecanary", "linked_to_exploitation")


def sent(story: Story) -> list[str]:
    return [" ".join(keys_and_values(env)).lower()
            for env in envelopes(story.xa) + envelopes(story.stream(XB))]


def test_no_message_of_the_protection_scenarios_carries_an_incident_s_details() -> None:
    story = Story()
    before_decision = REPATRIATION[:REPATRIATION.index((XA, "return-decision"))]
    story.run(before_decision)
    story.step(XA, "penalty-matter")  # an open removal order, tied to the exploitation
    story.step(XA, "penalty-matter", kind="fine")
    story.step(XA, "return-decision", SARA, justification=JUSTIFIED)
    story.run([(XB, "travel-document"), (XB, "reception")])
    story.step(XA, "transport")
    story.step(XA, "protection-incident", details=THREAT)  # a threat before departure
    story.step(XA, "risk-assessment", level="high")
    story.run([(XA, "departure"), (XB, "arrival"), (XB, "reintegration-plan"), (XB, "service")])
    story.step(XB, "follow-up", retrafficking_risk=True)  # at risk at month 3
    story.step(XB, "protection-incident", kind="missing", details=MISSING)
    story.step(XB, "risk-assessment", level="high")
    story.step(XB, "closure")

    messages = sent(story)
    assert any("protection-incident-recorded" in m for m in messages)
    assert story.stream(XB).state.closed
    for words in messages:
        assert not [w for w in FORBIDDEN if w in words], words


# -- health details and protection measures -----------------------------------------

HEALTH = ["refer", "share_identity", "return", "monitoring"]  # no share_health


def received(story: Story, agency: str, kind: str) -> list[dict[str, object]]:
    return [e.data for e in story.stream(agency).pending_events  # type: ignore[attr-defined]
            if e.type == kind and e.received is not None]  # type: ignore[attr-defined]


def test_a_health_service_before_departure_crosses_without_its_kind_or_provider_unless_shared(
) -> None:
    story = Story()
    story.bodies["consent"] = {**story.bodies["consent"], "scopes": HEALTH}
    story.run(REPATRIATION[:4])  # consent without share_health, referral, ..., acceptance
    today = str(story.at.date())
    story.step(XA, "service", service="psychosocial", provider="Zzclinic trauma clinic",
               delivered_on=today)
    story.step(XA, "service", service="legal", provider="Legal aid clinic", delivered_on=today)

    assert received(story, XB, "ServiceDelivered") == [
        {"side": "referring", "delivered_on": str(story.at.date())},
        {"side": "referring", "service": "legal", "delivered_on": str(story.at.date()),
         "provider": "Legal aid clinic"}]
    assert story.stream(XB).state.services_before_departure == 2
    for words in sent(story):
        assert "zzclinic" not in words and "psychosocial" not in words


def test_a_health_service_crosses_whole_under_share_health() -> None:
    story = Story()
    story.run(REPATRIATION[:4])  # consent with every scope
    story.step(XA, "service", service="medical", provider="XA City Hospital",
               delivered_on=str(story.at.date()))

    assert received(story, XB, "ServiceDelivered") == [
        {"side": "referring", "service": "medical", "delivered_on": str(story.at.date()),
         "provider": "XA City Hospital"}]


def test_a_health_service_received_without_share_health_is_refused() -> None:
    story = Story()
    story.bodies["consent"] = {**story.bodies["consent"], "scopes": HEALTH}
    story.run(REPATRIATION[:4])
    xb, before = story.stream(XB), snapshot(story.stream(XB))
    data = {"side": "referring", "service": "medical", "delivered_on": str(story.at.date()),
            "provider": "XA City Hospital"}

    with pytest.raises(DataMinimisation):
        xb.record(STEPS["service"], data, Actor(XA, XA), story.at, Messages(XA, 50).next())
    assert snapshot(xb) == before


def test_a_protection_measure_crosses_only_with_the_person_s_agreement() -> None:
    story = Story()
    story.run(REPATRIATION[:4])
    story.step(XA, "protection-measure", kind="anonymity_order")
    story.step(XA, "protection-measure", kind="witness_protection", shared_with_consent=True)
    story.step(XB, "protection-measure", kind="protective_order", shared_with_consent=False)

    assert received(story, XB, "ProtectionMeasureRecorded") == [
        {"side": "referring", "kind": "witness_protection",
         "valid_until": story.bodies["protection-measure"]["valid_until"],
         "shared_with_consent": True}]
    assert received(story, XA, "ProtectionMeasureRecorded") == []
    assert sorted(story.stream(XB).state.protection_measures) == [
        "protective_order", "witness_protection"]  # its own, and the one shared with it
    assert sorted(story.stream(XA).state.protection_measures) == [
        "anonymity_order", "witness_protection"]
    words = " ".join(sent(story))
    assert "anonymity" not in words and "protective_order" not in words


def test_a_protection_measure_received_without_the_agreement_is_refused() -> None:
    story = Story()
    story.run(REPATRIATION[:4])
    xb, before = story.stream(XB), snapshot(story.stream(XB))
    data = {"side": "referring", "kind": "anonymity_order", "valid_until": "2027-01-01"}

    with pytest.raises(DataMinimisation):
        xb.record(STEPS["protection-measure"], data, Actor(XA, XA), story.at,
                  Messages(XA, 50).next())
    assert snapshot(xb) == before


CASE_REF = "Zzcasecanary-2026-118"


def test_no_message_of_a_witness_home_before_the_trial_names_the_proceeding_or_the_award(
) -> None:
    story = Story()
    story.run(REPATRIATION[:REPATRIATION.index((XA, "transport"))])
    story.step(XA, "legal-proceeding", reference=CASE_REF)
    story.step(XA, "proceedings-clearance")
    story.step(XA, "penalty-matter", kind="charge", status="open")
    story.run([(XA, "transport"), (XA, "departure"), (XB, "arrival")])
    story.step(XA, "proceeding-update", reference=CASE_REF, person_informed=False)
    story.step(XA, "justice-request", reference=CASE_REF)
    story.step(XA, "justice-request", reference=CASE_REF, kind="remote_testimony")
    story.step(XA, "compensation-claim", amount="7777.00")
    story.step(XA, "compensation-decision", amount="6543.00")
    story.step(XA, "justice-request", kind="compensation_payment", reference=None,
               hearing_on=None)
    for kind in ("inform_person", "remote_testimony", "compensation_payment"):
        story.step(XB, "justice-response", kind=kind)
    story.step(XB, "protection-incident", kind="threat", details=THREAT)
    story.step(XB, "risk-assessment", level="high")

    messages = sent(story)
    assert sum("justice-request-sent" in m for m in messages) == 6  # to the partner, monitor
    assert sum("justice-request-answered" in m for m in messages) == 6
    # Amounts with their decimals and the currency as a word of its own: four digits or
    # three letters alone turn up by chance in a hash or a signature.
    forbidden = (*FORBIDDEN, CASE_REF.lower(), "reference", "7777.00", "6543.00", "trial",
                 "charge", "conviction")
    for words in messages:
        assert not [w for w in forbidden if w in words], words
        assert "eur" not in words.split(), words
    assert story.stream(XA).state.compensation == "paid"
    assert story.stream(XB).state.justice_requests == {}
