"""The monitor's trends: per corridor and calendar month, what happened in the month
(referrals, acceptances, declines, departures, arrivals, clocks that ran out, incidents
in transit, protection incidents, re-trafficking escalations) and the median days of each
stage completed in it; optionally each count split by sex, age band or form of
exploitation.

Every number published depends on its corridor, month, figure and category only, never
on the range asked for: no total over the range is published, so two ranges cannot be
subtracted to find a month. Every count below k is suppressed; in a month split by a
breakdown, whose cells add up to the month's count, published beside them, a lone
suppressed cell takes the next smallest with it (`suppress_cells`), so no suppressed cell
is the month's count less the others. A stage's median goes with its count below k.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from events.deadlines import MONTH
from events.profile import AGE_BANDS, FORMS, SEXES
from projections.board import DeadlinesFor, default_deadlines
from projections.monitor import clocks, suppress_cells
from projections.monitor_series import _months, stages_ended
from projections.projection import Doc

# (figure, the milestone whose first time counts the case in its month)
REACHED = (("referrals", "referral-sent"), ("acceptances", "referral-accepted"),
           ("declines", "referral-declined"), ("departures", "departure-confirmed"),
           ("arrivals", "arrival-confirmed"))
# (figure, the escalation event of `projections.monitor.alert_of`)
ESCALATED = (("transit_incidents", "transit-incident"),
             ("protection_incidents", "protection-escalation"),
             ("retrafficking_escalations", "retrafficking-risk"))
FIGURES = (*(f for f, _ in REACHED), "overdue_clocks", *(f for f, _ in ESCALATED))
UNKNOWN = "unknown"
BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "sex": SEXES,  # `unknown` among them: not recorded is counted there too
    "age_band": (*(band for band, _ in AGE_BANDS), UNKNOWN),
    "form": (*FORMS, UNKNOWN),
}
# What meets each of the monitor's clocks, to know when it was met.
MET_BY = {"acknowledge referral": ("referral-acknowledged",),
          "accept or decline": ("referral-accepted", "referral-declined"),
          "verify identity": ("identity-verified",),
          "confirm arrival": ("arrival-confirmed",),
          "reintegration plan": ("reintegration-plan-agreed",)}


def categories(doc: Doc, breakdown: str) -> list[str]:
    """The case's categories of a breakdown: one, or for `form` each of its forms."""
    profile = doc.get("profile", {})
    if breakdown == "form":
        return list(profile.get("forms") or [UNKNOWN])
    value = profile.get("sex" if breakdown == "sex" else "age_band")
    return [value if value in BREAKDOWNS[breakdown] else UNKNOWN]


def events_of(doc: Doc, now: datetime, deadlines_for: DeadlinesFor
              ) -> list[tuple[str, str]]:
    """(figure, month) of everything the case counts in."""
    out = [(figure, doc["reached"][m][:7]) for figure, m in REACHED if m in doc["reached"]]
    escalated = {event: figure for figure, event in ESCALATED}
    out += [(escalated[event], at[:7]) for at, event, _ in doc.get("escalations", [])
            if event in escalated]
    c = doc["corridor"]
    for n, clock in enumerate(clocks(doc, deadlines_for(c["referring"], c["receiving"]))):
        if clock.due_at < now and not _met_by(doc, clock.name, n, clock.due_at):
            out.append(("overdue_clocks", clock.due_at.isoformat()[:7]))
    return out


def _met_by(doc: Doc, name: str, n: int, due: datetime) -> bool:
    """Whether the clock was met by its due time (not merely met by now)."""
    if name.startswith("follow-up month"):
        month = int(name.rsplit(" ", 1)[1])
        arrived = datetime.fromisoformat(doc["reached"]["arrival-confirmed"])
        return any(datetime.fromisoformat(at) <= due for at in doc["follow_ups"]
                   if datetime.fromisoformat(at) >= arrived + (month - 1) * MONTH)
    times = [doc["reached"][m] for m in MET_BY.get(name, ()) if m in doc["reached"]]
    return bool(times) and datetime.fromisoformat(min(times)) <= due


def trends(docs: Mapping[str, Doc], now: datetime, first: str, last: str, k: int,
           corridor: tuple[str, str] | None = None, breakdown: str | None = None,
           deadlines_for: DeadlinesFor = default_deadlines) -> list[dict[str, Any]]:
    """Per corridor (or only `corridor`), the figures of each month from `first` to `last`
    (YYYY-MM), suppressed."""
    by_corridor: dict[tuple[str, str], list[Doc]] = {} if corridor is None else {corridor: []}
    for _, doc in sorted(docs.items()):
        key = (doc["corridor"]["referring"], doc["corridor"]["receiving"])
        if corridor is None or key == corridor:
            by_corridor.setdefault(key, []).append(doc)
    months = _months(first, last)
    return [_corridor(key, cases, now, months, k, breakdown, deadlines_for)
            for key, cases in sorted(by_corridor.items())]


def _corridor(key: tuple[str, str], docs: list[Doc], now: datetime, months: list[str], k: int,
              breakdown: str | None, deadlines_for: DeadlinesFor) -> dict[str, Any]:
    wanted = set(months)
    counts = {f: {m: 0 for m in months} for f in FIGURES}
    split = {f: {m: dict.fromkeys(BREAKDOWNS[breakdown], 0) for m in months}
             for f in FIGURES} if breakdown else {}
    durations: dict[str, dict[str, list[float]]] = {m: {} for m in months}
    for doc in docs:
        cats = categories(doc, breakdown) if breakdown else []
        for figure, month in set(events_of(doc, now, deadlines_for)):
            if month in wanted:
                counts[figure][month] += 1
                for cat in cats:
                    split[figure][month][cat] += 1
        for stage, month, days in stages_ended(doc):
            if month in wanted:
                durations[month].setdefault(stage, []).append(days)
    figures: dict[str, Any] = {}
    for figure in FIGURES:
        shown = {m: (None if 0 < n < k else n) for m, n in counts[figure].items()}
        table: dict[str, Any] = {"months": shown}
        if breakdown:
            table["cells"] = {m: suppress_cells(split[figure][m], k) for m in months}
        figures[figure] = table
    stages = {m: {s: _median(d, k) for s, d in sorted(per.items())}
              for m, per in durations.items()}
    return {"corridor": {"referring": key[0], "receiving": key[1]}, "figures": figures,
            "stages": stages}


def _median(days: list[float], k: int) -> dict[str, Any]:
    if len(days) < k:
        return {"cases": None, "median_days": None}
    return {"cases": len(days), "median_days": round(statistics.median(days), 2)}

