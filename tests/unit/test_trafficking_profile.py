"""The trafficking profile: recorded by the referring agency at opening or later, refused
at the receiving agency and after closure, crossing to the partner only under
`share_identity`, and reaching the monitor's milestone (forms only) under `monitoring`."""

from __future__ import annotations

from events.profile import age_band
from services.contract.codec import milestone
from tests.harness.builders import XA, XB, Story
from tests.harness.given import C, R, given, refused, upto, when

PROFILE = {"forms": ["labour", "domestic_servitude"], "country_of_exploitation": "XA"}


def test_the_referring_agency_records_it_at_opening_and_the_milestone_carries_the_forms(
        ) -> None:
    story = given([R("consent")])
    event = when(story, R("trafficking-profile"))
    assert story.xa.state.exploitation_forms == ["domestic_servitude", "labour"]
    found = milestone(story.xa, event)
    assert found is not None and found["forms"] == ["labour", "domestic_servitude"]
    assert "country_of_exploitation" not in found  # the monitor counts forms only


def test_the_receiving_agency_may_not_record_it_nor_anyone_after_closure() -> None:
    story = given(upto("acknowledgement"))
    refused(story, C("trafficking-profile"), "step-owner")
    story = given([*upto("acceptance"), R("closure", reason="other")])
    refused(story, R("trafficking-profile"), "sequence")


def test_the_partner_learns_the_profile_only_under_share_identity() -> None:
    for scopes, learns in ((["refer", "share_identity"], True), (["refer"], False)):
        story = Story()
        story.step(XA, "consent", scopes=scopes)
        story.step(XA, "referral")
        story.step(XA, "trafficking-profile", **PROFILE)
        partner = story.stream(XB).state.exploitation_forms
        assert partner == (["domestic_servitude", "labour"] if learns else None), scopes


def test_age_bands_are_the_age_on_the_day_of_opening() -> None:
    from datetime import date
    on = date(2026, 3, 1)
    assert [age_band(date(2026 - years, 3, 2), on) for years in
            (1, 12, 13, 18, 19, 25, 26, 35, 36, 50, 51, 90)] == [
        "0-11", "0-11", "12-17", "12-17", "18-24", "18-24", "25-34", "25-34", "35-49",
        "35-49", "50+", "50+"]
