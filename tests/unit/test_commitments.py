"""The chain over personal fields: salted commitments stand in for their values, so an
event verifies with its values, after their erasure, and as stored before commitments."""

from __future__ import annotations

import dataclasses
from typing import Any

from events.audit import verify_chain
from events.case import CaseEvent
from events.chain import ERASED, commitment, digest
from events.event import sealed_content
from tests.harness.builders import CANARY, XA, Story


def a_stream() -> list[CaseEvent]:
    story = Story()
    story.step(XA, "consent")
    story.step(XA, "referral", note=f"{CANARY} travels alone")
    return [e for e in story.xa.pending_events if isinstance(e, CaseEvent)]


def erased(event: CaseEvent) -> CaseEvent:
    """The event as it reads once its case's key is destroyed."""
    commitments = event.commitments or {}
    data = {k: ERASED if k in commitments else v for k, v in event.data.items()}
    return dataclasses.replace(event, data=data, salts=None)  # type: ignore[type-var]


def test_each_personal_field_is_committed_with_a_salt_of_its_own() -> None:
    opened, _, referral = a_stream()
    assert set(opened.commitments or {}) == {"person", "reason"}
    assert set(referral.commitments or {}) == {"note"}
    assert opened.salts is not None and len(set(opened.salts.values())) == 2
    assert opened.commitments["person"] == commitment(opened.salts["person"],
                                                      opened.data["person"])
    # The same value under another salt commits to something else: no guess can be tested.
    assert commitment("00" * 16, opened.data["person"]) != opened.commitments["person"]
    assert CANARY not in str(opened.commitments) + str(opened.content()["data"])


def test_a_stream_verifies_with_its_values_and_once_they_are_erased() -> None:
    events = a_stream()
    assert verify_chain(events) == []
    assert verify_chain([erased(e) for e in events]) == []


def test_a_personal_value_changed_while_readable_breaks_the_chain() -> None:
    events = a_stream()
    forged = dataclasses.replace(events[2], data={**events[2].data, "note": "forged"})  # type: ignore[type-var]
    [fault] = verify_chain([*events[:2], forged])
    assert fault.version == 3 and "note" in fault.reason and "hash does not match" in fault.reason


def test_an_event_stored_before_commitments_verifies_as_it_always_did() -> None:
    first = a_stream()[0]
    state: dict[str, Any] = {k: v for k, v in vars(first).items()
                             if k not in ("commitments", "salts")}
    state["hash"] = digest(sealed_content(
        first.type, first.originator_id, first.originator_version, first.timestamp,
        first.recorded_by, first.actor, first.data, None, first.prev_hash))
    legacy = object.__new__(type(first))  # as eventsourcing's mapper rebuilds a stored event
    object.__setattr__(legacy, "__dict__", state)
    assert legacy.commitments is None and legacy.salts is None
    assert verify_chain([legacy]) == []
    tampered = dict(state, data={**first.data, "reason": "forged"})
    object.__setattr__(legacy, "__dict__", tampered)
    assert verify_chain([legacy])[0].reason == "hash does not match the event's content"
