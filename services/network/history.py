"""When each step of a demo case happened: `homeward run --demo-cases N` spreads the
cases over the past 18 months (`SPAN`), the oldest opened SPAN ago and the others evenly
after it, and each case's steps over the weeks and months that follow its opening, as a
repatriation takes them: days to a referral's acknowledgement, weeks to the journey,
the journey in one day, the month-3 follow-up three months after the arrival.

The seeding records each step at its own time (the stores' clock is set to it), so the
events, the messages and the monitor's milestones all carry the step's time, not the
seeding's. A step that would fall after now is not taken: the case stays where its
history has brought it so far.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from services.network.demo_cases import Move, Walk, repatriation

SPAN = timedelta(days=548)  # about 18 months
# Days between a step and the one before it, drawn per case between (least, most).
GAPS: dict[str, tuple[float, float]] = {
    "guardian": (0.0, 0.1),
    "consent": (0.01, 0.3),
    "referral": (0.05, 2.0),
    "acknowledgement": (0.1, 3.0),
    "identity-verification-request": (0.05, 1.0),
    "identity-verification": (2.0, 12.0),
    "acceptance": (0.5, 6.0),
    "risk-assessment": (1.0, 8.0),
    "return-decision": (1.0, 7.0),
    "best-interests-determination": (2.0, 8.0),
    "caregiver-confirmation": (1.0, 7.0),
    "travel-document": (2.0, 10.0),
    "reception": (1.0, 6.0),
    "transport": (1.0, 4.0),
    "transport-cancellation": (0.5, 3.0),
    "shelter-exit": (3.0, 30.0),
    "reintegration-plan": (2.0, 25.0),
    "service": (3.0, 20.0),
    "consent-withdrawal": (5.0, 30.0),
    "closure": (5.0, 30.0),
    "reopening": (10.0, 60.0),
}
BEFORE_LEAVING = (1.0, 5.0)  # days from the last step before the journey to its day
# The journey's steps, on its day, each recorded half an hour after what it says happened.
ON_THE_DAY = {"departure": time(9, 30), "transit-incident": time(11, 30),
              "arrival": time(15, 30), "shelter-admission": time(18)}
FOLLOW_UP = {3: (80.0, 100.0)}  # month: days after the arrival
# Steps that say on which day they happened: their own.
ON_ITS_DAY = {"shelter-exit": "left_on", "service": "delivered_on"}


@dataclass(frozen=True)
class Dated:
    at: datetime
    move: Move


@dataclass(frozen=True)
class History:
    opened_at: datetime
    opening: dict[str, object]
    steps: list[Dated]


def opened_at(i: int, count: int, now: datetime) -> datetime:
    """The opening of case `i` of `count`: the oldest SPAN before `now`, then evenly on."""
    hour = random.Random(i).uniform(8, 17)  # in office hours, UTC
    day = (now - SPAN * (count - i) / count).date()
    return min(datetime.combine(day, time(), UTC) + timedelta(hours=hour),
               now - timedelta(hours=1))


def history(i: int, count: int, now: datetime, receiving: str, minor: bool) -> History:
    """Case `i` of `count` opened at its time, each step of its repatriation dated."""
    rng = random.Random(f"history-{i}")
    opened = opened_at(i, count, now)
    paths = [m.path for m in repatriation(now.date(), receiving=receiving, minor=minor).moves]
    at, before = opened, []
    for path in paths[: paths.index("departure")]:
        at = at + _gap(rng, GAPS[path])
        before.append(at)
    leave = (at + _gap(rng, BEFORE_LEAVING)).date()
    walk = repatriation(leave + timedelta(days=1), receiving=receiving, minor=minor)
    times = before + _after(walk, leave, rng)
    steps = [Dated(when, _on_its_day(move, when.date()))
             for when, move in zip(times, walk.moves, strict=True)]
    return History(opened, walk.opening, steps)


def _after(walk: Walk, leave: date, rng: random.Random) -> list[datetime]:
    """The times of the journey's steps and of those after it."""
    moves = walk.moves[[m.path for m in walk.moves].index("departure"):]
    out: list[datetime] = []
    arrived = datetime.combine(leave, ON_THE_DAY["arrival"], UTC)
    for move in moves:
        if move.path in ON_THE_DAY:
            out.append(datetime.combine(leave, ON_THE_DAY[move.path], UTC))
        elif move.path == "follow-up":
            out.append(max(out[-1], arrived + _gap(rng, FOLLOW_UP[int(move.body["month"])])))
        else:
            out.append(out[-1] + _gap(rng, GAPS[move.path]))
    return out


def _gap(rng: random.Random, days: tuple[float, float]) -> timedelta:
    return timedelta(days=rng.uniform(*days))


def _on_its_day(move: Move, day: date) -> Move:
    field = ON_ITS_DAY.get(move.path)
    return replace(move, body={**move.body, field: day.isoformat()}) if field else move
