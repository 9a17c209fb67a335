"""What a form needs: each step's body as the JSON Schema the API validates it with, and
which steps the caller may record on a case now. The pages build their forms from these,
so a new step gets its form without a line of page code."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from events.step import Step
from events.steps import STEPS, OpenCase, steps_open_to
from services.api import openapi
from services.api.deps import NodeDep
from services.api.policy import CaseReader, Reader, records_steps

router = APIRouter(prefix="/v1", tags=["forms"])


class StepForm(BaseModel):
    path: str
    event: str
    owner: str
    supervisor_only: bool
    repatriation_only: bool
    body: dict[str, Any]  # the JSON Schema of the request body


class Forms(BaseModel):
    opening: dict[str, Any]  # the JSON Schema of POST /v1/cases
    steps: list[StepForm]


class OpenSteps(BaseModel):
    id: UUID
    version: int  # the version these were worked out on: the form's If-Match
    steps: list[str]


def _form(step: Step) -> StepForm:
    return StepForm(path=step.path, event=step.event.__name__, owner=step.owner.value,
                    supervisor_only=step.supervisor_only,
                    repatriation_only=step.repatriation_only,
                    body=step.body.model_json_schema())


@router.get("/steps", response_model=Forms, responses=openapi.problems(401, 403))
def forms(who: Reader) -> Forms:
    """Every step's body schema, and the opening's."""
    return Forms(opening=OpenCase.model_json_schema(),
                 steps=[_form(s) for s in STEPS.values() if not s.automatic])


@router.get("/cases/{case_id}/steps", response_model=OpenSteps, responses=openapi.CASE_READ)
def open_steps(case_id: UUID, who: CaseReader, node: NodeDep) -> OpenSteps:
    """The steps the caller may record on the case now (none for an auditor)."""
    case = node.app.case(case_id)
    steps = steps_open_to(case, who.actor()) if records_steps(who) else []
    return OpenSteps(id=case.id, version=case.version, steps=[s.path for s in steps])
