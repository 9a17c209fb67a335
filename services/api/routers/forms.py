"""What a form needs: each step's body as the JSON Schema the API validates it with, and
which steps the caller may record on a case now. The pages build their forms from these,
so a new step gets its form without a line of page code."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from events.casework import supervised
from events.next_steps import PHASE_OF, next_steps
from events.step import Step
from events.steps import STEPS, OpenCase, steps_open_to
from events.values import Role
from services.api.deps import NodeDep
from services.api.http import openapi
from services.api.policy import CaseReader, Reader, records_steps

router = APIRouter(prefix="/v1", tags=["forms"])


class StepForm(BaseModel):
    path: str
    event: str
    owner: str
    supervisor_only: bool
    repatriation_only: bool
    body: dict[str, Any]  # the JSON Schema of the request body
    supervised: bool = False  # a caseworker may ask a supervisor for it (four eyes)
    phase: str = ""  # where the case page groups it (events/next_steps.py)


class Forms(BaseModel):
    opening: dict[str, Any]  # the JSON Schema of POST /v1/cases
    steps: list[StepForm]


class OpenSteps(BaseModel):
    id: UUID
    version: int  # the version these were worked out on: the form's If-Match
    steps: list[str]
    next: list[str] = []  # those the case's blocking items ask of this agency, first
    ask: list[str] = []  # those the caller may ask a supervisor to approve (four eyes)


def _form(step: Step) -> StepForm:
    return StepForm(path=step.path, event=step.event.__name__, owner=step.owner.value,
                    supervisor_only=step.supervisor_only,
                    repatriation_only=step.repatriation_only,
                    body=step.body.model_json_schema(), supervised=supervised(step),
                    phase=PHASE_OF.get(step.path, ""))


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
    side = case.side_of(who.agency)
    paths = [s.path for s in steps]
    ahead = next_steps(case, side, paths, node.clock.now()) if side is not None else []
    ask = []
    if records_steps(who) and not who.actor().is_supervisor:
        boss = replace(who.actor(), roles=who.actor().roles | {Role.SUPERVISOR})
        ask = [s.path for s in steps_open_to(case, boss) if supervised(s)]
        ahead += [p for p in next_steps(case, side, ask, node.clock.now())
                  if p not in ahead] if side is not None else []
    return OpenSteps(id=case.id, version=case.version, steps=paths, next=ahead, ask=ask)
