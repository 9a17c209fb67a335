"""Use cases, numbered, as caseworkers on both sides would live them.

Each agency keeps its own stream; `Story` feeds each side's shared facts to the
other, as the exchange does, so both streams must end holding the same facts.
"""

from __future__ import annotations

import pytest

from events.case import Case, CaseEvent
from events.progress import blocking, status
from events.rules import AsylumGuard, ConsentWithdrawalHalts, ProceedingsClearance
from events.steps import BY_EVENT
from events.values import Status
from tests.harness.builders import BEA, REPATRIATION, SARA, XA, XB, Story


def shared_facts(own: Case, partner: Case, agency: str) -> tuple[list[str], list[str]]:
    """The hashes of `agency`'s shared events in its own stream, and as received by the partner."""

    def crosses(event: CaseEvent) -> bool:
        step = BY_EVENT.get(type(event))
        return step is None or step.shared  # the opening is no step, and always crosses

    sent = [e.hash for e in events_of(own) if e.received is None and crosses(e)]
    got = [e.received["sender_hash"] for e in events_of(partner)
           if e.received is not None and e.received["sender"] == agency]
    return sent, got


def events_of(case: Case) -> list[CaseEvent]:
    return [e for e in case.pending_events if isinstance(e, CaseEvent)]


def test_1_a_whole_repatriation_ends_with_both_streams_holding_the_same_facts() -> None:
    story = Story()
    story.run(REPATRIATION)
    assert story.xb is not None
    for agency, own, partner in ((XA, story.xa, story.xb), (XB, story.xb, story.xa)):
        sent, got = shared_facts(own, partner, agency)
        assert sent == got and len(sent) > 5
    assert status(story.xa, story.at) is Status.CLOSED
    assert status(story.xb, story.at) is Status.CLOSED


def test_2_a_declined_referral_is_closed_by_the_referring_agency() -> None:
    story = Story()
    story.run([(XA, "consent"), (XA, "referral"), (XB, "acknowledgement"), (XB, "decline")])
    assert status(story.xa, story.at) is Status.DECLINED
    assert status(story.stream(XB), story.at) is Status.DECLINED
    story.step(XA, "closure", reason="declined")
    assert status(story.xa, story.at) is Status.CLOSED
    assert story.stream(XB).state.closed


def test_3_consent_withdrawn_before_departure_cancels_transport_and_holds_the_case() -> None:
    story = Story()
    story.run(REPATRIATION[:12])  # up to and including the transport plan
    assert status(story.xa, story.at) is Status.SCHEDULED
    story.step(XA, "consent-withdrawal")
    for case in (story.xa, story.stream(XB)):
        assert case.state.transport is None
        assert status(case, story.at) is Status.ON_HOLD
    with pytest.raises(ConsentWithdrawalHalts):
        story.step(XA, "transport")
    assert [b.rule for b in blocking(story.xa, story.at)] == ["consent-withdrawal-halts"]
    story.step(XA, "consent", scopes=["return"])
    story.step(XA, "return-decision")  # the decision before the withdrawal no longer counts
    story.step(XA, "transport")
    assert status(story.xa, story.at) is Status.SCHEDULED


def test_4_a_minor_returns_only_with_best_interests_and_a_caregiver() -> None:
    story = Story(minor=True)
    story.run(REPATRIATION[:11])
    items = {(b.rule, b.owed_by.value) for b in blocking(story.xa, story.at)}
    assert items == {("minor-safeguards", "referring"), ("minor-safeguards", "receiving")}
    story.step(XA, "best-interests-determination")
    story.step(XB, "family-tracing")
    story.step(XB, "caregiver-confirmation")
    assert status(story.xa, story.at) is Status.READY
    story.run(REPATRIATION[11:14])
    assert status(story.stream(XB), story.at) is Status.ARRIVED


def test_5_an_open_asylum_claim_blocks_the_referral_until_it_is_closed() -> None:
    story = Story()
    story.run([(XA, "consent"), (XA, "asylum-claim")])
    with pytest.raises(AsylumGuard):
        story.step(XA, "referral")
    assert story.xb is None  # nothing reached the country of origin
    story.step(XA, "asylum-claim-closure")
    story.step(XA, "referral")
    assert story.stream(XB).state.referred_at is not None
    assert story.stream(XB).state.asylum_open is False  # the claim never crossed the border


def test_6_a_person_linked_to_proceedings_travels_only_with_clearance() -> None:
    story = Story()
    story.run(REPATRIATION[:11])
    story.step(XA, "legal-proceeding")
    with pytest.raises(ProceedingsClearance):
        story.step(XA, "transport")
    story.step(XA, "proceedings-clearance")
    story.step(XA, "transport")
    assert status(story.xa, story.at) is Status.SCHEDULED
    assert not story.stream(XB).state.proceedings_open  # proceedings stay with the referring agency


def test_7_a_risk_to_life_override_sends_a_referral_without_consent() -> None:
    story = Story()
    story.step(XA, "risk-to-life-override", actor=SARA)
    story.step(XA, "referral")
    assert story.stream(XB).state.override
    assert story.stream(XB).state.person is None  # no identity without share_identity


def test_8_closing_after_arrival_without_a_plan_needs_a_supervisors_justification() -> None:
    story = Story()
    story.run(REPATRIATION[:14])
    story.step(XB, "closure", actor=BEA, reason="lost_contact", justification="no contact for 60 days")
    assert story.xa.state.closed and story.stream(XB).state.closed
