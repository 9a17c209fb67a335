"""Nothing about asylum, residence permits or the basis of a stay decision crosses the
border: every envelope (to the partner and to the monitor) of a case that went through
all of them is read, field by field and value by value."""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import uuid4

from events.case import Case, CaseEvent
from services.contract.codec import is_exported, milestone_envelope, to_envelope
from services.signing import SigningKey
from tests.harness.builders import REPATRIATION, XA, XB, Story

KEYS = {code: SigningKey.generate(code) for code in (XA, XB)}
FORBIDDEN = ("asylum", "permit", "basis", "protection")


def envelopes(case: Case) -> list[dict[str, Any]]:
    """Every message the agency of `case` sent, built by the real codec from the case as
    it stood at each event."""
    events = [e for e in case.pending_events if isinstance(e, CaseEvent)]
    at_event: Case = events[0].mutate(None)  # type: ignore[assignment]
    out, sequence = [], 0
    for event in events:
        if event is not events[0]:
            event.mutate(at_event)
        if not is_exported(event):
            continue
        sequence += 1
        key = KEYS[event.recorded_by]
        out.append(to_envelope(at_event, event, sequence, key))
        milestone = milestone_envelope(at_event, event, sequence, key, uuid4())
        if milestone is not None:
            out.append(milestone)
    return out


# A signature, a digest or a ciphertext: one long run of an encoding's characters with a
# capital or a digit among them. Lowercased, such a value holds a short word by chance (a
# four-letter word about once in every few hundred signatures), so it is not read for words.
OPAQUE = re.compile(r"(?=.*[A-Z0-9])[A-Za-z0-9+/=_-]{40,}")


def keys_and_values(value: Any) -> list[str]:
    """Every key and every readable string value of a message, as a reader of the broker
    would find words in it."""
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in keys_and_values(v))]
    if isinstance(value, list):
        return [s for v in value for s in keys_and_values(v)]
    return [value] if isinstance(value, str) and not OPAQUE.fullmatch(value) else []


def test_a_signature_or_digest_is_not_read_for_words_but_every_readable_value_is() -> None:
    signature = KEYS[XA].sign(b"anything")
    digest = "0f" * 32
    long_word = "linked_to_exploitation_and_a_removal_order_pending"  # 40+, no capital
    words = keys_and_values({"kind": "fine", "signature": signature, "digest": digest,
                             "note": long_word, "said": "Paid A Fine In 2024",
                             "list": ["asylum", signature]})
    assert words == ["kind", "signature", "digest", "note", "said", "list",
                     "fine", long_word, "Paid A Fine In 2024", "asylum"]


def test_no_message_of_a_person_who_sought_asylum_and_stays_mentions_it() -> None:
    story = Story()
    story.run([(XA, "consent"), (XA, "asylum-claim"), (XA, "asylum-claim-closure")])
    story.run(REPATRIATION[1:4])  # referral, acknowledgement, acceptance
    story.step(XA, "asylum-claim", lodged_on=str(story.at.date()))
    story.step(XA, "asylum-claim-closure", outcome="granted")
    story.step(XA, "residence-permit", outcome="granted", decided_on=str(story.at.date()))
    story.step(XA, "stay-decision", basis="asylum")
    story.step(XA, "legal-proceeding")
    story.step(XA, "compensation-claim")
    story.run([(XB, "reintegration-plan"), (XB, "service")])

    sent = envelopes(story.xa) + envelopes(story.stream(XB))
    kinds = {env["schema"] for env in sent}
    assert "homeward.stay-decided.v1" in kinds
    assert any(kind.startswith("homeward.milestone.") for kind in kinds)
    for env in sent:
        words = " ".join(keys_and_values(env)).lower()
        assert not [w for w in FORBIDDEN if w in words], env["schema"]
    stay = next(env for env in sent if env["schema"] == "homeward.stay-decided.v1")
    assert set(stay["payload"]) == {"decided_on"}
    assert story.stream(XB).state.kind.value == "referral"
    assert json.dumps([e.data for e in story.stream(XB).pending_events]).count("asylum") == 0
