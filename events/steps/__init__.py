"""Every step of DOMAIN.md, by its path; each module tells one part of the story."""

from __future__ import annotations

from events.case import Case, CaseEvent
from events.step import Step
from events.steps import (
    asylum,
    closure,
    consent,
    documents,
    erasure,
    guardianship,
    hold,
    identity,
    justice,
    justice_home,
    measures,
    notes,
    penalty,
    protection,
    referral,
    reintegration,
    return_,
    risk,
    stay,
    trafficking,
    transit,
    transport,
)
from events.steps.opening import CaseOpened, OpenCase, open_case, open_received
from events.values import Actor, Kind

STEPS: dict[str, Step] = {
    step.path: step
    for module in (guardianship, consent, asylum, hold, referral, identity, risk, return_,
                   justice, justice_home, penalty, measures, stay, documents, transport,
                   transit, reintegration, protection, trafficking, notes, closure, erasure)
    for step in module.STEPS
}

BY_EVENT: dict[type[CaseEvent], Step] = {step.event: step for step in STEPS.values()}
BY_MESSAGE_TYPE: dict[str, Step] = {step.message_type: step for step in STEPS.values()}



def steps_open_to(case: Case, actor: Actor) -> list[Step]:
    """The steps this actor's agency owns in the case as it stands, that its kind and state
    allow and the actor's role may record: what a caseworker is offered a form for. Their
    guards still decide (a refusal names the rule), so nothing is hidden that might pass."""
    side = case.side_of(actor.agency)
    if side is None:
        return []
    return [step for step in STEPS.values()
            if not step.automatic  # the case records those itself
            and step.owner_side(case, side) is side
            and (step.reopens == case.state.closed or step.after_closure)
            and (not step.repatriation_only or case.state.kind is Kind.REPATRIATION)
            and (not step.supervisor_only or actor.is_supervisor)]


__all__ = ["STEPS", "BY_EVENT", "BY_MESSAGE_TYPE", "CaseOpened", "OpenCase", "Step",
           "open_case", "open_received", "steps_open_to"]
