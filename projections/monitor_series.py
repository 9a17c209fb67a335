"""The monitor's figures over time, per corridor and calendar month: cases per status at
each month's end, and the median days of each stage completed in the month. Every cell
below k is suppressed exactly as the published statistics are (`suppress_cells`, and a
stage's median goes with its count), so the charts can be shown to anyone."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from projections.monitor import STAGES, corridors_view, statuses, suppress_cells
from projections.projection import Doc

DAY = 86400.0


def _month(iso: str) -> str:
    return iso[:7]


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def status_at_month_end(doc: Doc, month: str) -> str | None:
    """The case's status at the end of `month` (None: not opened yet)."""
    seen = [status for at, status in statuses(doc) if _month(at) <= month]
    return seen[-1] if seen else None


def stages_ended(doc: Doc) -> list[tuple[str, str, float]]:
    """(stage, month it ended, days it took) for each stage the case went through."""
    at = {k: datetime.fromisoformat(v) for k, v in doc["reached"].items()}
    out = []
    for stage, start, ends in STAGES:
        done = [at[e] for e in ends if e in at]
        if start in at and done:
            end = min(done)
            out.append((stage, end.astimezone(UTC).strftime("%Y-%m"),
                        (end - at[start]).total_seconds() / DAY))
    return out


def corridor_series(docs: Mapping[str, Doc], now: datetime, k: int) -> list[dict[str, Any]]:
    by_corridor: dict[tuple[str, str], list[Doc]] = {}
    for _, doc in sorted(docs.items()):
        c = doc["corridor"]
        by_corridor.setdefault((c["referring"], c["receiving"]), []).append(doc)
    overdue = {(v["corridor"]["referring"], v["corridor"]["receiving"]): v["overdue"]
               for v in corridors_view(docs, now, k=k)}
    return [_series(key, cases, now, k, overdue.get(key, {}))
            for key, cases in sorted(by_corridor.items())]


def _series(key: tuple[str, str], docs: list[Doc], now: datetime, k: int,
            overdue: dict[str, int | None]) -> dict[str, Any]:
    first = min(at for doc in docs for at, _ in statuses(doc))
    months = _months(_month(first), now.astimezone(UTC).strftime("%Y-%m"))
    by_status = {}
    for month in months:
        counts: dict[str, int] = {}
        for doc in docs:
            status = status_at_month_end(doc, month)
            if status is not None:
                counts[status] = counts.get(status, 0) + 1
        by_status[month] = suppress_cells(counts, k)
    durations: dict[str, dict[str, list[float]]] = {m: {} for m in months}
    for doc in docs:
        for stage, month, days in stages_ended(doc):
            durations.setdefault(month, {}).setdefault(stage, []).append(days)
    stages = {month: {stage: _median(days, k) for stage, days in per.items()}
              for month, per in durations.items() if month in by_status}
    return {"corridor": {"referring": key[0], "receiving": key[1]}, "k": k, "months": months,
            "by_status": by_status, "stages": stages, "overdue": overdue}


def _median(days: list[float], k: int) -> dict[str, Any]:
    if len(days) < k:
        return {"cases": None, "median_days": None}
    return {"cases": len(days), "median_days": round(statistics.median(days), 2)}
