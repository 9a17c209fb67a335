"""The hash chain: a real stream verifies, and tampering names the event it touched."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from events.audit import Break, verify_chain
from events.case import CaseEvent
from events.chain import digest
from tests.harness.builders import XA, XB
from tests.harness.given import HAPPY, given


def tampered(event: CaseEvent, **changes: Any) -> CaseEvent:
    """A copy of a stored event with fields changed behind the domain's back."""
    forged = copy.copy(event)
    for name, value in changes.items():
        object.__setattr__(forged, name, value)
    return forged


def full_stream(agency: str) -> list[CaseEvent]:
    return list(given(HAPPY).stream(agency).pending_events)


@pytest.mark.parametrize("agency", [XA, XB])
def test_both_agencies_streams_of_a_whole_return_verify(agency: str) -> None:
    events = full_stream(agency)

    assert len(events) == 21
    assert verify_chain(events) == []


def test_changed_data_names_the_event_that_was_changed() -> None:
    events = full_stream(XA)
    original = events[6]
    events[6] = tampered(original, data={**original.data, "result": "not_confirmed"})

    breaks = verify_chain(events)

    assert breaks == [Break(7, original.type, "hash does not match the event's content")]
    assert str(breaks[0]).startswith(f"event 7 ({original.type})")


def test_a_changed_sender_of_a_received_fact_is_detected() -> None:
    events = full_stream(XA)
    accepted = next(e for e in events if e.type == "ReferralAccepted")
    assert accepted.received is not None and accepted.received["sender"] == XB
    events[events.index(accepted)] = tampered(accepted, received={**accepted.received, "sender": XA})

    assert [b.version for b in verify_chain(events)] == [accepted.originator_version]


def test_a_rewritten_hash_breaks_the_link_to_the_next_event() -> None:
    events = full_stream(XB)
    original = events[3]
    changed = {**original.data, "note": "declined after all"}
    content = {**original.content(), "data": changed}
    events[3] = tampered(original, data=changed, hash=digest(content))

    assert verify_chain(events) == [
        Break(5, events[4].type, "prev_hash does not match the previous event's hash")]


def test_a_removed_event_is_detected_at_its_successor() -> None:
    events = full_stream(XA)
    removed = events.pop(10)

    breaks = verify_chain(events)

    assert [(b.version, b.reason) for b in breaks] == [
        (removed.originator_version + 1, "prev_hash does not match the previous event's hash")]
