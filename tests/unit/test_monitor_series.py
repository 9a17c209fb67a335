"""The monitor's figures per month: statuses at each month's end, stage medians by the month
they ended, and every cell below k suppressed as the published statistics are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from projections.monitor import merge, parse_milestone
from projections.monitor_series import corridor_series

JAN = datetime(2025, 1, 10, 9, tzinfo=UTC)


def case(*steps: tuple[str, str, datetime]) -> dict[str, Any]:
    doc = None
    for milestone, status, at in steps:
        doc = merge(doc, parse_milestone({
            "corridor": {"referring": "XA-NRM", "receiving": "XB-NRM"}, "kind": "repatriation",
            "milestone": milestone, "status": status, "occurred_at": at.isoformat(),
            "due_at": None, "minor": False}))
    assert doc is not None
    return doc


def referred(n: int, days: int) -> dict[str, dict[str, Any]]:
    return {f"00000000-0000-0000-0000-{i:012d}": case(
        ("case-opened", "opened", JAN + timedelta(hours=i)),
        ("referral-sent", "referred", JAN + timedelta(days=days, hours=i)))
        for i in range(n)}


def test_each_month_counts_the_status_cases_had_at_its_end() -> None:
    [series] = corridor_series(referred(12, 30), datetime(2025, 3, 1, tzinfo=UTC), k=11)
    assert series["months"] == ["2025-01", "2025-02", "2025-03"]
    assert series["by_status"] == {"2025-01": {"opened": 12}, "2025-02": {"referred": 12},
                                   "2025-03": {"referred": 12}}
    assert series["stages"]["2025-02"] == {"referral": {"cases": 12, "median_days": 30.0}}
    assert series["k"] == 11


def test_cells_below_k_are_suppressed_with_their_medians() -> None:
    docs = referred(5, 30)
    [series] = corridor_series(docs, datetime(2025, 2, 20, tzinfo=UTC), k=11)
    assert series["by_status"] == {"2025-01": {"opened": None}, "2025-02": {"referred": None}}
    assert series["stages"]["2025-02"] == {"referral": {"cases": None, "median_days": None}}


def test_one_hidden_cell_takes_the_next_smallest_with_it_as_the_statistics_do() -> None:
    docs = referred(12, 30)
    docs |= {f"10000000-0000-0000-0000-{i:012d}": case(("case-opened", "opened", JAN))
             for i in range(3)}
    [series] = corridor_series(docs, datetime(2025, 2, 20, tzinfo=UTC), k=11)
    assert series["by_status"]["2025-01"] == {"opened": 15}
    assert series["by_status"]["2025-02"] == {"opened": None, "referred": None}


def test_a_redelivered_milestone_changes_no_figure() -> None:
    once = case(("case-opened", "opened", JAN), ("referral-sent", "referred", JAN + timedelta(days=3)))
    twice = merge(once, parse_milestone({
        "corridor": {"referring": "XA-NRM", "receiving": "XB-NRM"}, "kind": "repatriation",
        "milestone": "case-opened", "status": "opened", "occurred_at": JAN.isoformat(),
        "due_at": None, "minor": False}))
    assert twice == once
