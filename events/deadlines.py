"""The clocks of DOMAIN.md: when each is due, whether it was met, and who owes it.

Nothing here reads the time: `now` is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from events.case import Case
from events.values import Side

MONTH = timedelta(days=30)


class Deadlines(BaseModel):
    """Per corridor; the defaults come from RIAT and the TRM SOPs."""

    acknowledge: timedelta = timedelta(days=2)
    decide: timedelta = timedelta(days=7)
    verify_identity: timedelta = timedelta(days=30)
    confirm_arrival: timedelta = timedelta(hours=12)
    reintegration_plan: timedelta = timedelta(days=30)
    follow_up_months: tuple[int, ...] = Field(default=(3, 6, 12))


@dataclass(frozen=True)
class Clock:
    name: str
    owed_by: Side
    due_at: datetime
    met: bool

    def overdue(self, now: datetime) -> bool:
        return not self.met and now > self.due_at


def clocks(case: Case, deadlines: Deadlines | None = None) -> list[Clock]:
    d, s = deadlines or Deadlines(), case.state
    out: list[Clock] = []
    if s.referred_at is not None:
        out.append(Clock("acknowledge referral", Side.RECEIVING, s.referred_at + d.acknowledge,
                         s.acknowledged_at is not None))
        decided = s.accepted_at is not None or s.declined_at is not None
        out.append(Clock("accept or decline", Side.RECEIVING, s.referred_at + d.decide, decided))
    if s.identity_requested_at is not None:
        out.append(Clock("verify identity", Side.RECEIVING,
                         s.identity_requested_at + d.verify_identity,
                         s.identity_verified_at is not None))
    if s.transport is not None and s.departed_at is not None:
        out.append(Clock("confirm arrival", Side.RECEIVING,
                         s.transport.arrival_at + d.confirm_arrival, s.arrived_at is not None))
    if s.arrived_at is not None:
        out.append(Clock("reintegration plan", Side.RECEIVING,
                         s.arrived_at + d.reintegration_plan, s.plan_services is not None))
        for month in d.follow_up_months:
            out.append(Clock(f"follow-up month {month}", Side.RECEIVING,
                             s.arrived_at + month * MONTH, month in s.follow_up_months))
    if s.closed:
        return [c for c in out if c.met]
    return out


def overdue(case: Case, now: datetime, deadlines: Deadlines | None = None) -> list[Clock]:
    return [c for c in clocks(case, deadlines) if c.overdue(now)]
