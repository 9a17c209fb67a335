"""Step 1, CaseOpened: the referring agency opens the case (or the partner learns of it)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from pydantic import Field

from events.case import Case, CaseEvent
from events.rules import DataMinimisation, InvalidField, StepOwner
from events.step import Body
from events.values import AGENCY_CODE, Actor, Kind, Received, Scope

IDENTITY_FIELDS = ("person", "reason")
# Worked out at opening from the corridor's reflection period (the partner learns the start
# only), and the case a transfer continues (the new partner sees a fresh case).
LOCAL_FIELDS = ("reflection_period_end", "transferred_from")
REFLECTION_PERIOD = timedelta(days=30)
ADULT_AGE = 18


class Person(Body):
    given_names: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    date_of_birth: date
    sex: Literal["female", "male", "other", "unknown"]
    nationality: str = Field(pattern=r"^[A-Z]{2}$")
    languages: list[str] = Field(default_factory=list, max_length=20)


class OpenCase(Body):
    id: UUID | None = None
    kind: Kind
    receiving_agency: str = Field(pattern=AGENCY_CODE.pattern)
    person: Person
    minor: bool | None = None  # derived from the date of birth; if given, it must agree
    identification: Literal["formal", "presumed"]
    reason: str = Field(min_length=1, max_length=4000)
    urgency: Literal["routine", "urgent"]
    reflection_period_start: date | None = None


class CaseOpened(CaseEvent, Aggregate.Created):
    def change(self, case: Case) -> None:
        s, d = case.state, self.data
        s.kind = Kind(d["kind"])
        s.referring = d["referring_agency"]
        s.receiving = d["receiving_agency"]
        s.minor = bool(d["minor"])
        s.urgent = d["urgency"] == "urgent"
        person = d.get("person")
        s.person = person if isinstance(person, dict) else None  # a string once erased
        s.opened_at, s.opened_on = self.timestamp, self.timestamp.date()
        s.transferred_from = d.get("transferred_from")
        if "reflection_period_end" in d:
            s.reflection_ends = date.fromisoformat(d["reflection_period_end"])


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_minor(body: OpenCase, at: datetime) -> bool:
    """A child is anyone under 18 on the day the case is opened; the flag cannot say otherwise."""
    minor = age_on(body.person.date_of_birth, at.date()) < ADULT_AGE
    if body.minor is not None and body.minor != minor:
        raise InvalidField("minor", f"the date of birth makes the person "
                                    f"{'a minor' if minor else 'an adult'} on {at.date()}")
    return minor


def open_case(body: OpenCase, actor: Actor, at: datetime,
              reflection: timedelta = REFLECTION_PERIOD, transferred_from: UUID | None = None
              ) -> Case:
    """Open a case; `reflection` is the corridor's length of the reflection period;
    `transferred_from`, the case of this agency it continues with another partner."""
    if body.receiving_agency == actor.agency:
        raise StepOwner("a case is opened with a partner agency, not with oneself")
    data = body.model_dump(mode="json", exclude={"id"}, exclude_none=True)
    data["minor"] = is_minor(body, at)
    data["referring_agency"] = actor.agency
    if transferred_from is not None:
        data["transferred_from"] = str(transferred_from)
    if body.reflection_period_start is not None:
        data["reflection_period_end"] = (body.reflection_period_start + reflection).isoformat()
    return Case.opened(CaseOpened, body.id or uuid4(), data, actor, at, personal=IDENTITY_FIELDS)


def open_received(case_id: UUID, payload: dict[str, Any], received: Received, at: datetime) -> Case:
    """The partner's case-opened message starts this agency's stream of the case."""
    if payload.get("referring_agency") != received.sender:
        raise StepOwner(f"only the referring agency opens a case, not {received.sender}")
    if any(name in payload for name in IDENTITY_FIELDS + LOCAL_FIELDS):
        # Consent always follows the opening, so nothing personal may come with it.
        raise DataMinimisation(
            "a case opening carries no personal data and nothing kept local; identity "
            f"needs {Scope.SHARE_IDENTITY.value}"
        )
    actor = Actor(agency=received.sender, sub=received.sender)
    return Case.opened(CaseOpened, case_id, payload, actor, at, received)
