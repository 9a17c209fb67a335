"""What stays home after the hand-off as before it: every envelope (to the partner and to
the monitor) of the protection scenarios is read, field by field and value by value, for
an incident's details, a penalty matter, a supervisor's justification."""

from __future__ import annotations

from tests.contract.test_rights_border import envelopes, keys_and_values
from tests.harness.builders import REPATRIATION, SARA, XA, XB, Story

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
