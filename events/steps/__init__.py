"""Every step of DOMAIN.md, by its path; each module tells one part of the story."""

from __future__ import annotations

from events.case import CaseEvent
from events.step import Step
from events.steps import (
    asylum,
    closure,
    consent,
    documents,
    identity,
    referral,
    reintegration,
    return_,
    risk,
    transport,
)
from events.steps.opening import CaseOpened, OpenCase, open_case, open_received

STEPS: dict[str, Step] = {
    step.path: step
    for module in (consent, asylum, referral, identity, risk, return_, documents, transport,
                   reintegration, closure)
    for step in module.STEPS
}

BY_EVENT: dict[type[CaseEvent], Step] = {step.event: step for step in STEPS.values()}
BY_MESSAGE_TYPE: dict[str, Step] = {step.message_type: step for step in STEPS.values()}

__all__ = ["STEPS", "BY_EVENT", "BY_MESSAGE_TYPE", "CaseOpened", "OpenCase", "Step",
           "open_case", "open_received"]
