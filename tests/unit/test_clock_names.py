"""Every clock's name reads in each page language, as the pages name it (common.js
`clockName`): a fixed name by its key "clock.<name>", a name that carries a value by the
key of its template "clock.<template>" (events.deadlines.TEMPLATES), with a kind by its
own word "value.<kind>". A clock added without its words fails here."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import get_args

from events.deadlines import TEMPLATES, Deadlines, clocks
from events.steps.justice_home import JusticeKind
from events.steps.measures import ProtectionMeasure
from projections import monitor
from services.api.web.languages import languages
from tests.harness.builders import T0, XA, XB
from tests.harness.given import C, Do, R, given, upto

HOME = 11  # days after T0: the person arrived on day 10 (builders.bodies)
PROTECTION_KINDS: tuple[str, ...] = get_args(ProtectionMeasure.model_fields["kind"].annotation)


def day(n: int) -> str:
    return str((T0 + timedelta(days=n)).date())


def every_request_and_measure() -> list[Do]:
    """The person home with a proceeding's news untold, an open request of every kind of
    justice from home, and a protection measure of every kind."""
    steps = [*upto("arrival"), R("legal-proceeding", day=HOME),
             R("proceeding-update", person_informed=False, day=HOME),
             R("compensation-claim", day=HOME), R("compensation-decision", day=HOME)]
    for kind in get_args(JusticeKind):
        hearing = None if kind == "compensation_payment" else day(HOME + 30)
        steps.append(R("justice-request", kind=kind, hearing_on=hearing, day=HOME))
    steps += [C("protection-measure", kind=kind, valid_until=day(HOME + 30), day=HOME)
              for kind in PROTECTION_KINDS]
    return steps


def monitor_names() -> set[str]:
    """The monitor's clocks of a case home and not yet followed up."""
    at = T0.isoformat()
    reached = ["referral-sent", "identity-verification-requested", "departure-confirmed",
               "arrival-confirmed"]
    doc = {"reached": dict.fromkeys(reached, at), "transport": {"due_at": at},
           "follow_ups": [], "status": "arrived"}
    return {c.name for c in monitor.clocks(doc, Deadlines())}


def clock_names() -> set[str]:
    story = given(every_request_and_measure())
    return {c.name for agency in (XA, XB) for c in clocks(story.stream(agency))} | monitor_names()


def template_of(name: str) -> tuple[str, dict[str, str]] | None:
    """The template a name was made from and its values, matched as the pages match it."""
    for template in TEMPLATES:
        parts = re.split(r"\{(\w+)\}", template)
        pattern = "".join(f"(?P<{p}>.+)" if i % 2 else re.escape(p) for i, p in enumerate(parts))
        found = re.fullmatch(pattern, name)
        if found:
            return template, found.groupdict()
    return None


def test_every_clock_is_driven_by_the_story() -> None:
    names = clock_names()
    made = [template_of(n) for n in names]
    assert {m[0] for m in made if m} == set(TEMPLATES)
    kinds = {m[1]["kind"] for m in made if m and "kind" in m[1]}
    assert kinds == {k.replace("_", " ") for k in (*get_args(JusticeKind), *PROTECTION_KINDS)}
    assert {"follow-up month 3", "follow-up month 6", "follow-up month 12",
            "inform the person: proceeding CR-2026-1187", "verify identity"} <= names


def test_every_clock_is_named_in_every_language() -> None:
    names = clock_names()
    for code, language in languages().items():
        words = language.strings
        unnamed = []
        for name in sorted(names):
            if f"clock.{name}" in words:
                continue
            made = template_of(name)
            if made is None or f"clock.{made[0]}" not in words:
                unnamed.append(name)
                continue
            values = made[1]
            if "kind" in values and f"value.{values['kind'].replace(' ', '_')}" not in words:
                unnamed.append(name)
            if "month" in values and not values["month"].isdigit():
                unnamed.append(name)
        assert unnamed == [], code
