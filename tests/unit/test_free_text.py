"""Free text has a class: every free-text field of every step is either protected under a
consent scope (it crosses only while the scope holds) or local-only (it never crosses)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic.fields import FieldInfo

from events.steps import STEPS
from projections.timeline import entry
from tests.harness.builders import SARA, XA, XB, Story


def is_free_text(field: FieldInfo) -> bool:
    """Prose (a string of up to a thousand characters or more), or a list of strings."""
    annotation: Any = field.annotation
    if typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,):
        return True
    longest = [m.max_length for m in field.metadata if getattr(m, "max_length", None)]
    return "str" in str(annotation) and bool(longest) and max(longest) >= 1000


def test_every_free_text_field_is_protected_or_local_only() -> None:
    unclassified = set()
    for path, step in STEPS.items():
        if not step.shared:
            continue  # nothing of it crosses
        classified = {*step.local_only, *(f for fs in step.protected.values() for f in fs)}
        for name, field in step.body.model_fields.items():
            if is_free_text(field) and name not in classified:
                unclassified.add((path, name))
    assert unclassified == set()


def test_the_free_text_test_knows_free_text_when_it_sees_it() -> None:
    fields = STEPS["consent-withdrawal"].body.model_fields
    assert is_free_text(fields["reason"]) and not is_free_text(fields["scopes"])
    assert is_free_text(STEPS["risk-assessment"].body.model_fields["factors"])
    assert not is_free_text(STEPS["identity-verification"].body.model_fields["nationality"])


def test_the_non_personal_export_redacts_both_classes() -> None:
    story = Story()
    story.run([(XA, "consent"), (XA, "referral")])
    withdrawn = story.step(XA, "consent-withdrawal", scopes=["monitoring"],
                           reason="To apply for a residence permit.")
    referral = next(e for e in story.xa.collect_events() if e.type == "ReferralSent")

    for event, field in ((referral, "note"), (withdrawn, "reason")):
        assert field in event.data
        row = entry(event, personal=False)
        assert field not in row["data"] and field in row["redacted"]
        assert entry(event, personal=True)["data"][field] == event.data[field]
    # The local-only reason never reached the partner; the note did, under share_identity.
    at_partner = story.stream(XB).collect_events()
    assert at_partner[-1].type == "ConsentWithdrawn" and "reason" not in at_partner[-1].data
    received_referral = next(e for e in at_partner if e.type == "ReferralSent")
    assert received_referral.data["note"] == referral.data["note"]


def test_a_risk_assessment_sends_that_a_plan_is_in_place_and_the_export_redacts_the_text() -> None:
    story = Story()
    story.run([(XA, "consent"), (XA, "referral"), (XB, "acknowledgement"), (XB, "acceptance")])
    assessed = story.step(XA, "risk-assessment", factors=["recruiter in home town"],
                          safety_plan="Stays with her aunt in the capital.")
    row = entry(assessed, personal=False)
    assert {"factors", "safety_plan"} <= set(row["redacted"])
    assert "factors" not in row["data"] and "safety_plan" not in row["data"]
    at_partner = story.stream(XB).collect_events()[-1]
    assert at_partner.type == "RiskAssessed" and "safety_plan" not in at_partner.data
    assert at_partner.data["safety_plan_in_place"] is True
    assert at_partner.data["factors"] == ["recruiter in home town"]  # under share_identity
    assert entry(at_partner, personal=False)["redacted"] == ["factors"]


def test_the_reclassified_texts_are_redacted_from_the_non_personal_export() -> None:
    story = Story()
    override = story.step(XA, "risk-to-life-override", SARA,
                          justification="Threat by the network in her home town.")
    story.run([(XA, "referral"), (XB, "acknowledgement")])
    declined = story.step(XB, "decline", reason="Her mother is the recruiter.")
    for event, field in ((override, "justification"), (declined, "reason")):
        row = entry(event, personal=False)
        assert field not in row["data"] and field in row["redacted"]
        assert entry(event, personal=True)["data"][field] == event.data[field]
    at_referring = [e for e in story.xa.collect_events() if e.received is not None]
    assert at_referring[-1].type == "ReferralDeclined"
    assert "reason" not in at_referring[-1].data  # no consent to share identity
    at_partner = story.stream(XB).collect_events()
    received_override = next(e for e in at_partner if e.type == "RiskToLifeOverrideRecorded")
    assert received_override.data == {}
