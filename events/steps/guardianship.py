"""Who speaks for the person: a child's age and guardian, an adult's capacity.

Consent (events/steps/consent.py) reads these: a child consents through a guardian
recorded first, having been heard; a guardian speaks for an adult only after an
assessment found that the adult lacks capacity.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from events.case import Case, CaseEvent
from events.step import Body, Owner, Step
from events.values import Scope


class AgeAssessment(Body):
    assessed_on: date
    # disputed: the age is in doubt, and the person is treated as a minor until it is settled.
    outcome: Literal["disputed", "minor", "adult"]


class Guardian(Body):
    name: str = Field(min_length=1, max_length=200)
    authority: str = Field(min_length=1, max_length=200)  # the body that appointed the guardian


class CapacityAssessment(Body):
    assessed_on: date
    incapacity_found: bool


class AgeAssessed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.age_assessment = self.data["outcome"]
        case.state.minor = self.data["outcome"] != "adult"


class GuardianAppointed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.guardian_appointed = True


class CapacityAssessed(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.incapacity_found = bool(self.data["incapacity_found"])


STEPS = [
    Step("age-assessment", AgeAssessed, Owner.REFERRING, AgeAssessment),
    Step("guardian", GuardianAppointed, Owner.REFERRING, Guardian,
         protected={Scope.SHARE_IDENTITY: ("name",)}),
    # A finding about the person's mental capacity is health data: it stays home.
    Step("capacity-assessment", CapacityAssessed, Owner.REFERRING, CapacityAssessment,
         shared=False),
]
