"""A referring agency's node for read-model tests: its own steps are recorded, the
partner's steps arrive as received facts, as the inbox would record them."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from events.step import Owner
from events.steps import STEPS, OpenCase
from events.values import Received
from services.clock import FixedClock
from tests.harness.builders import ANNA, SARA, T0, XA, XB, bodies, opening, recorded_at
from tests.harness.stores import homeward


class ReferringNode:
    """The referring agency's application, the partner's steps received as facts."""

    def __init__(self, env: dict[str, str], clock: FixedClock | None = None) -> None:
        self.clock = clock or FixedClock(T0)
        self.app = homeward(env, self.clock)
        self.sequence: dict[UUID, int] = {}
        self.children: set[UUID] = set()

    def open(self, **fields: Any) -> UUID:
        case_id = self.app.open_case(OpenCase.model_validate(opening(**fields)), ANNA).id
        if self.app.case(case_id).state.minor:  # a child consents through a guardian
            self.children.add(case_id)
            self.step(case_id, "guardian")
        return case_id

    def step(self, case_id: UUID, path: str, by: str | None = None, **changes: Any) -> None:
        step = STEPS[path]
        body = {**bodies(T0)[path], **changes}
        if path == "consent" and case_id in self.children:
            body = {**bodies(T0)[path], "given_by": "guardian", "child_views_heard": True,
                    **changes}
        agency = by or self._owner(case_id, step.owner)
        if agency == XA:
            # Recorded once it happened (a departure), then the node's clock is as it was.
            now = self.clock.at
            self.clock.at = recorded_at(path, body, now)
            # A supervisor where the step needs one, or where a justification is given.
            senior = step.supervisor_only or "justification" in changes
            try:
                self.app.record(case_id, path, body, SARA if senior else ANNA)
            finally:
                self.clock.at = now
            return
        payload = step.body.model_validate(body).model_dump(mode="json", exclude_none=True)
        # As the partner's codec sends it: what a local-only field says, never the field.
        if step.for_partner is not None:
            payload = step.for_partner(payload)
        payload = {k: v for k, v in payload.items() if k not in step.local_only}
        if step.sided:
            payload["side"] = "receiving"
        self.sequence[case_id] = self.sequence.get(case_id, 0) + 1
        received = Received(XB, str(uuid4()), "0" * 64, self.sequence[case_id])
        self.app.receive(case_id, step.message_type, payload, received)

    def _owner(self, case_id: UUID, owner: Owner) -> str:
        if owner is Owner.PHASE:
            return self.app.case(case_id).agency(self.app.case(case_id).phase_owner())
        return XB if owner is Owner.RECEIVING else XA

    def run(self, case_id: UUID, paths: list[str]) -> None:
        for path in paths:
            if path == "risk-assessment*":  # both sides assess
                self.step(case_id, "risk-assessment", by=XA)
                self.step(case_id, "risk-assessment", by=XB)
            else:
                self.step(case_id, path)


# A repatriation up to the plan: every precondition of transport met.
READY = ["consent", "referral", "acknowledgement", "acceptance", "risk-assessment*",
         "return-decision", "travel-document", "reception"]
DEPARTED = [*READY, "transport", "departure"]
HOME = [*DEPARTED, "arrival", "reintegration-plan", "follow-up"]
