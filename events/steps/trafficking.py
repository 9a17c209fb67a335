"""The trafficking profile: the forms of exploitation the person suffered, and the country
where, recorded by the referring agency at opening or at any time after (a later one
replaces it).

It crosses to the partner only under consent scope `share_identity`; without it the
partner learns only that a profile was recorded. The monitor learns the forms, only
under `monitoring` and only to count them (docs/cross-border.md)."""

from __future__ import annotations

from pydantic import Field

from events.case import Case, CaseEvent
from events.profile import ExploitationForm
from events.step import Body, Owner, Step
from events.values import Scope


class TraffickingProfile(Body):
    forms: list[ExploitationForm] = Field(min_length=1, max_length=8)
    country_of_exploitation: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class TraffickingProfileRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        forms = self.data.get("forms")
        if isinstance(forms, list):  # absent in a fact the partner sent without consent
            case.state.exploitation_forms = sorted(set(forms))


STEPS = [
    Step("trafficking-profile", TraffickingProfileRecorded, Owner.REFERRING, TraffickingProfile,
         protected={Scope.SHARE_IDENTITY: ("forms", "country_of_exploitation")}),
]
