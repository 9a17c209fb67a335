"""Steps 12-13: the country of origin issues the travel document and arranges reception."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from events.case import Case, CaseEvent
from events.step import Body, Owner, Step
from events.steps.return_ import check_accepted
from events.values import Scope


class TravelDocument(Body):
    type: Literal["passport", "laissez_passer", "emergency_travel_document"]
    number: str = Field(min_length=1, max_length=50)
    valid_until: date


class Reception(Body):
    arrival_point: str = Field(min_length=1, max_length=200)
    type: Literal["shelter", "family", "other"]
    met_by: str = Field(min_length=1, max_length=200)
    from_date: date


class TravelDocumentIssued(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.travel_document_until = date.fromisoformat(self.data["valid_until"])
        case.state.return_steps += 1


class ReceptionArranged(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.reception_from = date.fromisoformat(self.data["from_date"])
        case.state.return_steps += 1


STEPS = [
    Step("travel-document", TravelDocumentIssued, Owner.RECEIVING, TravelDocument,
         check_accepted, repatriation_only=True, protected={Scope.SHARE_IDENTITY: ("number",)}),
    Step("reception", ReceptionArranged, Owner.RECEIVING, Reception,
         check_accepted, repatriation_only=True, protected={Scope.SHARE_IDENTITY: ("met_by",)}),
]
