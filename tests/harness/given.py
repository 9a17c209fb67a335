"""Given-steps for the rule tests: `R(...)` is a step of the referring agency (XA-NRM),
`C(...)` one of the receiving agency in the country of origin (XB-NRM), as DOMAIN.md
marks owners. A step may change its body, name its actor, or happen `day` days after T0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from events.case import Case, CaseEvent
from events.rules import RULES, RuleViolation
from events.values import Actor, Received
from tests.harness.builders import REPATRIATION, T0, XA, XB, Story, snapshot


@dataclass
class Do:
    agency: str
    path: str
    changes: dict[str, Any] = field(default_factory=dict)
    actor: Actor | None = None
    day: int = 0

    def __repr__(self) -> str:
        return f"{'R' if self.agency == XA else 'C'}({self.path})"


def R(path: str, actor: Actor | None = None, day: int = 0, **changes: Any) -> Do:
    return Do(XA, path, changes, actor, day)


def C(path: str, actor: Actor | None = None, day: int = 0, **changes: Any) -> Do:
    return Do(XB, path, changes, actor, day)


HAPPY = [Do(agency, path) for agency, path in REPATRIATION]


def upto(path: str, steps: list[Do] = HAPPY) -> list[Do]:
    """The steps up to and including the first `path`."""
    return steps[: [d.path for d in steps].index(path) + 1]


def before(path: str, steps: list[Do] = HAPPY) -> list[Do]:
    """The steps before the first `path`."""
    return steps[: [d.path for d in steps].index(path)]


ACCEPTED = upto("acceptance")
READY = before("transport")  # every precondition of planning transport is met


def without(steps: list[Do], agency: str, path: str) -> list[Do]:
    return [d for d in steps if (d.agency, d.path) != (agency, path)]


def changed(steps: list[Do], replacement: Do) -> list[Do]:
    """The steps with the step of the same agency and path replaced."""
    return [replacement if (d.agency, d.path) == (replacement.agency, replacement.path) else d
            for d in steps]


def given(steps: list[Do], **opening: Any) -> Story:
    story = Story(**opening)
    play(story, steps)
    return story


def play(story: Story, steps: list[Do]) -> CaseEvent | None:
    event = None
    for d in steps:
        event = when(story, d)
    return event


def when(story: Story, d: Do) -> CaseEvent:
    story.at = T0 + timedelta(days=d.day)
    return story.step(d.agency, d.path, d.actor, **d.changes)


def streams(story: Story) -> list[Case]:
    return [case for case in (story.xa, story.xb) if case is not None]


def refused(story: Story, d: Do, code: str) -> RuleViolation:
    """`d` is refused with exactly `code`, and neither stream of the case changed."""
    before_ = [(snapshot(case), len(case.pending_events)) for case in streams(story)]
    with pytest.raises(RuleViolation) as refusal:
        when(story, d)
    assert refusal.value.code == code, str(refusal.value)
    assert type(refusal.value) is RULES[code]
    assert [(snapshot(case), len(case.pending_events)) for case in streams(story)] == before_
    return refusal.value


class Messages:
    """Hand-made cross-border messages from one sender, numbered like the exchange does."""

    def __init__(self, sender: str, first: int = 1) -> None:
        self.sender, self.sequence = sender, first - 1

    def next(self) -> Received:
        self.sequence += 1
        return Received(self.sender, f"{self.sender}-{self.sequence}", "0" * 64, self.sequence)
