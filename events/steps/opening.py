"""Step 1, CaseOpened: the referring agency opens the case (or the partner learns of it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from pydantic import Field

from events.case import Case, CaseEvent
from events.rules import DataMinimisation, StepOwner
from events.step import Body
from events.values import AGENCY_CODE, Actor, Kind, Received, Scope

IDENTITY_FIELDS = ("person", "reason")


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
    minor: bool
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
        person = d.get("person")
        s.person = person if isinstance(person, dict) else None  # a string once erased


def open_case(body: OpenCase, actor: Actor, at: datetime) -> Case:
    if body.receiving_agency == actor.agency:
        raise StepOwner("a case is opened with a partner agency, not with oneself")
    data = body.model_dump(mode="json", exclude={"id"}, exclude_none=True)
    data["referring_agency"] = actor.agency
    return Case.opened(CaseOpened, body.id or uuid4(), data, actor, at, personal=IDENTITY_FIELDS)


def open_received(case_id: UUID, payload: dict[str, Any], received: Received, at: datetime) -> Case:
    """The partner's case-opened message starts this agency's stream of the case."""
    if payload.get("referring_agency") != received.sender:
        raise StepOwner(f"only the referring agency opens a case, not {received.sender}")
    if "person" in payload or "reason" in payload:
        # Consent always follows the opening, so nothing personal may come with it.
        raise DataMinimisation(
            f"a case opening carries no personal data; identity needs {Scope.SHARE_IDENTITY.value}"
        )
    actor = Actor(agency=received.sender, sub=received.sender)
    return Case.opened(CaseOpened, case_id, payload, actor, at, received)
