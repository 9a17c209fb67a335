"""The monitor's corridor page in the browser: its SVG charts drawn from the k-suppressed
series, a suppressed cell marked rather than drawn, and no serious accessibility issue."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest
from selenium.webdriver.common.by import By

from tests.browser.web import Browser, monitor_pages

NOW = datetime(2025, 4, 20, 12, tzinfo=UTC)
PATH = [("case-opened", "opened"), ("referral-sent", "referred"),
        ("referral-acknowledged", "acknowledged"), ("referral-accepted", "accepted"),
        ("departure-confirmed", "in_transit"), ("arrival-confirmed", "arrived")]


def milestones(referring: str, receiving: str, cases: int, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Cases opened over four months, each going some way along the path."""
    rng = random.Random(seed)
    for n in range(cases):
        at = datetime(2025, 1, 3, 9, tzinfo=UTC) + timedelta(days=rng.randrange(0, 100))
        for milestone, status in PATH[:rng.randrange(1, len(PATH) + 1)]:
            if at > NOW:
                break
            yield str(uuid5(NAMESPACE_URL, f"case-{seed}-{n}")), {
                "corridor": {"referring": referring, "receiving": receiving},
                "kind": "repatriation", "milestone": milestone, "status": status,
                "occurred_at": at.isoformat(), "minor": False,
                "due_at": (at + timedelta(hours=20)).isoformat()
                if milestone == "departure-confirmed" else None}
            at += timedelta(days=rng.randrange(1, 12), hours=rng.randrange(0, 20))


@pytest.fixture
def monitor_page(tmp_path: Path) -> Iterator[tuple[Browser, str, str]]:
    with monitor_pages(tmp_path, NOW, [*milestones("XA-NRM", "XB-NRM", 160, 1),
                                       *milestones("XA-NRM", "XC-NRM", 6, 2)]) as page:
        yield page


def test_the_corridor_page_draws_its_charts_with_small_cells_suppressed(
    monitor_page: tuple[Browser, str, str],
) -> None:
    b, url, token = monitor_page
    en = b.corridors(url, token, "en")
    b.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "section.corridor")) == 2)
    busy, small = b.driver.find_elements(By.CSS_SELECTOR, "section.corridor")
    assert len(busy.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img]")) == 3
    assert busy.find_elements(By.CSS_SELECTOR, "svg rect.s-arrived")  # drawn: 11 or more
    # The small corridor: every cell is below k, so nothing is drawn as a size.
    assert small.find_elements(By.CSS_SELECTOR, "figure.chart svg rect") == []
    assert small.find_elements(By.CSS_SELECTOR, "svg .hidden-mark")
    b.driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert en["charts.suppressed"].replace("{k}", "11") in small.text
    violations = b.axe()
    assert violations == [], violations
    b.driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = false)")
    b.screenshot("monitor-charts")
