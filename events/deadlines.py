"""The clocks of DOMAIN.md: when each is due, whether it was met, and who owes it.

Nothing here reads the time: `now` is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, Field

from events.case import Case
from events.values import Side

MONTH = timedelta(days=30)
NEVER = datetime.max.replace(tzinfo=UTC)
# The names of the clocks that carry a value; the pages name a clock in their language by
# the template it was made from ("clock.<template>" in each language's file). A kind is
# written with spaces for its underscores.
FOLLOW_UP = "follow-up month {month}"
INFORM_PERSON = "inform the person: proceeding {reference}"
JUSTICE_FROM_HOME = "justice from home: {kind}"
RENEWAL = "renew the {kind}"
TEMPLATES = (FOLLOW_UP, INFORM_PERSON, JUSTICE_FROM_HOME, RENEWAL)


def later(at: datetime, delta: timedelta) -> datetime:
    """`at + delta`, or the end of time for dates so far ahead that the sum overflows."""
    try:
        return at + delta
    except OverflowError:
        return NEVER


class Deadlines(BaseModel):
    """Per corridor; the defaults come from RIAT and the TRM SOPs. An urgent case is
    acknowledged and decided on its own, shorter profile."""

    acknowledge: timedelta = timedelta(days=2)
    decide: timedelta = timedelta(days=7)
    urgent_acknowledge: timedelta = timedelta(hours=4)
    urgent_decide: timedelta = timedelta(hours=24)
    reflection_period: timedelta = timedelta(days=30)
    inform_person: timedelta = timedelta(days=14)
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

    def clock(name: str, start: datetime, delta: timedelta, met: bool) -> None:
        out.append(Clock(name, Side.RECEIVING, later(start, delta), met))

    if s.referred_at is not None:
        acknowledge, decide = ((d.urgent_acknowledge, d.urgent_decide) if s.urgent
                               else (d.acknowledge, d.decide))
        clock("acknowledge referral", s.referred_at, acknowledge, s.acknowledged_at is not None)
        clock("accept or decline", s.referred_at, decide,
              s.accepted_at is not None or s.declined_at is not None)
    if s.identity_requested_at is not None:
        clock("verify identity", s.identity_requested_at, d.verify_identity,
              s.identity_verified_at is not None)
    if s.transport is not None and s.departed_at is not None:
        clock("confirm arrival", s.transport.arrival_at, d.confirm_arrival,
              s.arrived_at is not None)
    if s.arrived_at is not None:
        clock("reintegration plan", s.arrived_at, d.reintegration_plan,
              s.plan_services is not None)
        for month in d.follow_up_months:
            clock(FOLLOW_UP.format(month=month), s.arrived_at, month * MONTH,
                  month in s.follow_up_months)
    for reference, proceeding in sorted(s.proceedings.items()):
        name = INFORM_PERSON.format(reference=reference)
        if proceeding.uninformed_since is not None:  # news the person was not yet told of
            out.append(Clock(name, informer(case, reference),
                             later(proceeding.uninformed_since, d.inform_person), False))
        elif proceeding.untold_from is not None and proceeding.told_from_home_on is not None:
            due = later(proceeding.untold_from, d.inform_person)  # told by the receiving agency
            out.append(Clock(name, Side.RECEIVING, due, proceeding.told_from_home_on <= due.date()))
    for kind, request in sorted(s.justice_requests.items()):  # asked of the receiving agency
        out.append(Clock(JUSTICE_FROM_HOME.format(kind=spaced(kind)), Side.RECEIVING,
                         end_of(request.due_on), False))
    for kind, measure in sorted(s.protection_measures.items()):  # overdue once it ends
        out.append(Clock(RENEWAL.format(kind=spaced(kind)), measure.side,
                         end_of(measure.valid_until), False))
    if s.closed:
        return [c for c in out if c.met]
    return out


def spaced(kind: str) -> str:
    return kind.replace("_", " ")


def end_of(day: date) -> datetime:
    """The end of a day (UTC): a clock due on that day goes overdue after it."""
    return datetime.combine(day + timedelta(days=1), time(), UTC)


def informer(case: Case, reference: str) -> Side:
    """Who owes telling the person of a proceeding's news: the referring agency, until it
    asked the receiving agency to, once the person had left (events.steps.justice_home)."""
    asked = case.state.justice_requests.get("inform_person")
    return Side.RECEIVING if asked is not None and reference in asked.untold else Side.REFERRING


def reflection_ends(case: Case, now: datetime) -> date | None:
    """The last day of a running reflection and recovery period (None once it is over)."""
    ends = case.state.reflection_ends
    return ends if ends is not None and now.date() < ends else None


def overdue(case: Case, now: datetime, deadlines: Deadlines | None = None) -> list[Clock]:
    return [c for c in clocks(case, deadlines) if c.overdue(now)]
