"""Erasure: a supervisor of either agency makes the case's personal data unreadable for good.

The step records only that it happened and on which ground: no personal data. Recording
it destroys the case's own key (services.keys), so every personal field of every event
reads as `ERASED` from then on, while the chain still verifies over the commitments.
The partner receives it as a message and erases its copy in the same way.
"""

from __future__ import annotations

from enum import StrEnum

from events.case import Case, CaseEvent
from events.step import Body, Owner, Step


class ErasureGround(StrEnum):
    """Why a case is erased: a ground, never free text, so the step itself is not personal."""

    SUBJECT_REQUEST = "subject-request"
    RETENTION_ENDED = "retention-ended"
    UNLAWFUL_PROCESSING = "unlawful-processing"
    COURT_ORDER = "court-order"


class Erasure(Body):
    reason: ErasureGround


class CaseErased(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.erased = True
        case.state.person = None
        case.state.approvals.clear()  # nothing follows: a pending request cannot be decided


STEPS = [
    Step("erasure", CaseErased, Owner.EITHER, Erasure, supervisor_only=True, after_closure=True),
]
