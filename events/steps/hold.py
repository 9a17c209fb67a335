"""The return held by the referring agency, as its partner may know it.

Asylum claims and legal proceedings never leave the referring agency, yet both hold a
return. After a step that starts or ends such a hold, the referring agency's case
records `ReturnHoldChanged` itself; the partner learns that the return is held or
released, never why, and its own gate shows the hold (`return-held`).
"""

from __future__ import annotations

from datetime import datetime

from events.case import Case, CaseEvent
from events.readiness import private_hold
from events.step import Body, Owner, Step
from events.values import Actor, Kind


class Hold(Body):
    held: bool


class ReturnHoldChanged(CaseEvent):
    def change(self, case: Case) -> None:
        if self.received is None:
            case.state.hold_announced = bool(self.data["held"])
        else:
            case.state.partner_held = bool(self.data["held"])


def tell_partner_of_hold(case: Case, actor: Actor, at: datetime) -> None:
    """After a private step: tell the partner when the hold starts or ends."""
    if case.state.kind is not Kind.REPATRIATION:
        return
    held = private_hold(case)
    if held != case.state.hold_announced:
        case.follow_with(ReturnHoldChanged, {"held": held}, actor, at)


STEPS = [
    Step("return-hold", ReturnHoldChanged, Owner.REFERRING, Hold, automatic=True),
]
