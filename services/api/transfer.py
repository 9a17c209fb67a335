"""A case transferred to another receiving agency (the person's country of return changed,
or a third country accepts them): the referring agency's supervisor closes it as
`transferred` with its partner, and opens a new case towards the new agency carrying the
person, the safeguards of opening and rights, and the consent, and refers it.

What is carried is the referring agency's own record, never a fact the old partner sent:
the new partner receives a fresh case (its opening, consent and referral), minimised as
any other. The new case names the old one (`transferred_from`) at the referring agency
only. The rules are those of each step: the closure's, then the opening's, the consent's
and the referral's; the transfer itself asks for consent to `refer` renewed naming the
new agency (`consent-required`) and a corridor to it in the trust directory (422).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.case import Case, CaseEvent
from events.rules import AsylumGuard, ConsentRequired, Sequence
from events.steps import BY_EVENT, STEPS, OpenCase, open_case
from events.steps.consent import ConsentRecorded
from events.steps.opening import CaseOpened
from events.steps.referral import ReferralSent
from events.values import AGENCY_CODE, Actor, ClosureReason, Scope
from services.api.corridors import receiving_agencies
from services.api.http.problems import Problem
from services.api.node import Node

# What of the old case the new case records again, in order: the referring agency's own
# steps about the person, before the consent; and, once protection was granted, the claim
# that granted it, so the bar on any return holds in the new case too.
CARRIED = ("age-assessment", "guardian", "capacity-assessment")
GRANTED = ("asylum-claim", "asylum-claim-closure")


class Transfer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    to_agency: str = Field(pattern=AGENCY_CODE.pattern, description="the new receiving agency")
    reason: str = Field(min_length=1, max_length=4000,
                        description="why; kept as the closure's justification, never crosses")


def transfer(node: Node, case_id: UUID, body: Transfer, actor: Actor) -> Case:
    """The new case, once the old one is closed `transferred`. Every step is recorded on
    the cases in memory first, each by its rules, and both are saved in one transaction:
    a refusal anywhere leaves both stores as they were."""
    app, now = node.app, node.clock.now()
    with app.serialised(case_id):
        old = app.case(case_id)
        _check(node, old, body, actor)
        events = app.timeline(case_id)
        reflection = node.read_models.deadlines_for(actor.agency, body.to_agency
                                                    ).reflection_period
        new = open_case(_opening(events, body.to_agency), actor, now, reflection, case_id)
        for event in events:
            step = BY_EVENT.get(type(event))
            carried = CARRIED + (GRANTED if old.state.protection_granted else ())
            if step is not None and step.path in carried and event.received is None:
                new.record(step, _own(event), actor, now)
        new.record(STEPS["consent"], {**_latest(events, ConsentRecorded),
                                      "scopes": sorted(s.value for s in old.state.consent),
                                      "refer_to": body.to_agency}, actor, now)
        referral = _latest(events, ReferralSent)
        new.record(STEPS["referral"], {k: v for k, v in referral.items() if k == "note"},
                   actor, now)
        old.record(STEPS["closure"], {"reason": ClosureReason.TRANSFERRED.value,
                                      "justification": body.reason}, actor, now)
        app.save_together(new, old)
    return app.case(new.id)


def _check(node: Node, old: Case, body: Transfer, actor: Actor) -> None:
    s = old.state
    if actor.agency != s.referring:
        raise Problem(403, "only the referring agency transfers a case", slug="step-owner",
                      rule="step-owner")
    if s.erased or s.closed:
        raise Sequence("a closed or erased case is not transferred; reopen it first")
    if body.to_agency in (s.referring, s.receiving):
        raise Problem(422, f"{body.to_agency} is already an agency of this case",
                      slug="invalid", errors=[{"field": "body.to_agency",
                                               "message": "a new receiving agency"}])
    partners = receiving_agencies(node.settings)
    if body.to_agency not in partners:
        raise Problem(422, f"no corridor from {s.referring} to {body.to_agency} in the trust "
                      "directory", slug="invalid",
                      errors=[{"field": "body.to_agency", "message": "must be an agency on a "
                               f"corridor from {s.referring}: {', '.join(sorted(partners))}"}])
    if s.asylum_open:
        raise AsylumGuard("while an asylum claim is open the case is referred nowhere; "
                          "close the claim first")
    if Scope.REFER not in s.consent or s.refer_to != body.to_agency:
        raise ConsentRequired(f"the person's consent to be referred to {body.to_agency} comes "
                              "first: consent with scope refer, naming it (refer_to)")


def _opening(events: list[CaseEvent], to_agency: str) -> OpenCase:
    opened = next(e for e in events if isinstance(e, CaseOpened))
    data = {k: v for k, v in opened.data.items()
            if k in OpenCase.model_fields and k not in ("id", "receiving_agency", "minor")}
    return OpenCase.model_validate({**data, "receiving_agency": to_agency})


def _latest(events: list[CaseEvent], kind: type[CaseEvent]) -> dict[str, Any]:
    found = [e for e in events if isinstance(e, kind) and e.received is None]
    return _own(found[-1]) if found else {}


def _own(event: CaseEvent) -> dict[str, Any]:
    """The body the agency recorded, without what the case added (the side)."""
    return {k: v for k, v in event.data.items() if k != "side"}

