"""The monitor node's trends: per corridor and month, what happened, every cell below
k = 11 suppressed (projections.monitor_trends)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from events.values import AGENCY_CODE
from projections.monitor import K_ANONYMITY
from projections.monitor_htcds import STANDARD, htcds_rows
from projections.monitor_trends import BREAKDOWNS, FIGURES
from services.api.deps import MonitorNodeDep
from services.api.http.problems import Problem
from services.api.policy import StatisticsReader

router = APIRouter(tags=["monitor"])
MONTH = re.compile(r"^(?P<year>20[0-9]{2})-(?P<month>0[1-9]|1[0-2])$")
MAX_MONTHS = 120
DEFAULT_MONTHS = 18
SUPPRESSION = (f"every count from 1 to {K_ANONYMITY - 1} is suppressed (empty in CSV, null in "
               "JSON); within a row each group of columns (cas_Status, prs_Gender, AgeBand, "
               "vic_TypeOfExploitation, prs_Citizenship) splits the row's cases, and a lone "
               "suppressed cell of a group takes the next smallest with it, so no cell is the "
               "cases less the others; a row depends only on its corridor and month, and no "
               "total over the range is published")


def _bad(field: str, message: str) -> Problem:
    return Problem(422, f"{field}: {message}", slug="invalid-query",
                   errors=[{"field": f"query.{field}", "message": message}])


def month_of(value: str | None, field: str, default: str) -> str:
    if value is None:
        return default
    if not MONTH.match(value):
        raise _bad(field, "a month YYYY-MM, from 2000-01")
    return value


def month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def months_back(now: datetime, n: int) -> str:
    i = now.year * 12 + now.month - 1 - n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def corridor_of(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    referring, _, receiving = value.partition(":")
    if not (AGENCY_CODE.match(referring) and AGENCY_CODE.match(receiving)):
        raise _bad("corridor", "REFERRING:RECEIVING agency codes, e.g. XA-NRM:XB-NRM")
    return referring, receiving


def period(now: datetime, from_: str | None, to: str | None) -> tuple[str, str]:
    last = month_of(to, "to", months_back(now, 0))
    first = month_of(from_, "from", months_back(now, DEFAULT_MONTHS - 1)
                     if to is None else f"{int(last[:4]) - 1:04d}{last[4:]}")
    if month_index(first) > month_index(last):
        raise _bad("from", "after `to`")
    if month_index(last) - month_index(first) >= MAX_MONTHS:
        raise _bad("to", f"at most {MAX_MONTHS} months from `from`")
    return first, last


@router.get("/v1/monitor/statistics/htcds", response_model=None, responses={
    200: {"content": {"text/csv": {}, "application/json": {}},
          "description": "CSV (the default) or JSON (Accept: application/json)"}})
def htcds(
    node: MonitorNodeDep, who: StatisticsReader,
    from_: Annotated[str | None, Query(alias="from", description="first month, YYYY-MM")] = None,
    to: Annotated[str | None, Query(description="last month, YYYY-MM")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """One row per corridor and month in HTCDS field names, cells below k suppressed."""
    first, last = period(node.clock.now(), from_, to)
    columns, rows = htcds_rows(node.view.store.all("monitor"), first, last, K_ANONYMITY)
    if "application/json" in (accept or ""):
        return JSONResponse({"standard": STANDARD, "k": K_ANONYMITY, "suppression": SUPPRESSION,
                             "from": first, "to": last, "columns": columns, "rows": rows})
    out = io.StringIO()
    out.write(f"# Homeward monitor statistics in the shape of {STANDARD}, {first} to {last}\n")
    out.write(f"# Suppression (k = {K_ANONYMITY}): {SUPPRESSION}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    name = f"homeward-htcds-{first}-{last}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/v1/monitor/trends")
def trends(
    node: MonitorNodeDep, who: StatisticsReader,
    corridor: Annotated[str | None, Query(description="REFERRING:RECEIVING; all if absent")] = None,
    from_: Annotated[str | None, Query(alias="from", description="first month, YYYY-MM")] = None,
    to: Annotated[str | None, Query(description="last month, YYYY-MM")] = None,
    by: Annotated[str, Query(description="the period: month")] = "month",
    breakdown: Annotated[str | None, Query(description="sex, age_band or form")] = None,
) -> dict[str, Any]:
    """Per corridor and month: referrals, acceptances, declines, departures, arrivals,
    overdue clocks, incidents in transit, protection incidents and re-trafficking
    escalations (cases counted in the month it happened), median days per stage; with
    `breakdown`, each count split. Every count below k = 11 suppressed (`null`)."""
    now = node.clock.now()
    if by != "month":
        raise _bad("by", "only month")
    if breakdown is not None and breakdown not in BREAKDOWNS:
        raise _bad("breakdown", f"one of {', '.join(BREAKDOWNS)}")
    first, last = period(now, from_, to)
    found = node.view.trends(now, first, last, corridor_of(corridor), breakdown)
    months = [months_back(datetime(int(last[:4]), int(last[5:]), 1), n)
              for n in range(month_index(last) - month_index(first), -1, -1)]
    return {"k": K_ANONYMITY, "from": first, "to": last, "by": by, "breakdown": breakdown,
            "figures": list(FIGURES), "categories": list(BREAKDOWNS[breakdown]) if breakdown
            else None, "months": months, "corridors": found}
