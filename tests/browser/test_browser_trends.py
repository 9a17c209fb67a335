"""The corridors page with 18 months of history, in Chromium: a trend chart per figure
with the corridors side by side, each with its table; the breakdown switch; the open
alerts; the CSV to download; in English and Arabic, with no serious accessibility issue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from tests.browser.web import Browser, monitor_pages
from tests.harness.monitor_history import NOW, generated

FIGURES = 9


@pytest.fixture
def monitor_page(tmp_path: Path) -> Iterator[tuple[Browser, str, str]]:
    milestones, _ = generated()
    # One person in transit since yesterday, arrival overdue; one missing in transit.
    left = NOW - timedelta(days=1)
    milestones += [(f"00000000-0000-4000-8000-00000000000{n}", {
        "corridor": {"referring": "XA-NRM", "receiving": "XB-NRM"}, "kind": "repatriation",
        "milestone": name, "status": status, "occurred_at": left.isoformat(), "minor": False,
        **extra}) for n, name, status, extra in (
            (1, "departure-confirmed", "in_transit", {"due_at": left.isoformat()}),
            (2, "transit-incident-recorded", "on_hold", {"incident": "missing"}))]
    with monitor_pages(tmp_path, NOW, milestones) as page:
        yield page


def charts(b: Browser) -> list[Any]:
    return b.driver.find_elements(By.CSS_SELECTOR, "section.trends figure.chart")


def first_chart(b: Browser) -> tuple[list[str], list[str], list[str]] | None:
    """The first chart's legend, table heads and cells (None while the page redraws)."""
    try:
        chart = charts(b)[0]
        text = [[e.get_attribute("textContent") for e in chart.find_elements(By.CSS_SELECTOR, css)]
                for css in (".chart-legend li", "table.chart-table th", "table.chart-table td")]
        return text[0], text[1], text[2]
    except (IndexError, StaleElementReferenceException):
        return None


def test_the_corridors_page_shows_trends_alerts_and_the_export(
    monitor_page: tuple[Browser, str, str],
) -> None:
    b, url, token = monitor_page
    en = b.corridors(url, token, "en")
    b.wait(lambda d: len(charts(b)) == FIGURES)
    trends = b.find("section.trends")
    for figure in charts(b):
        assert figure.find_elements(By.CSS_SELECTOR, "svg[role=img] rect")  # drawn
        assert figure.find_elements(By.CSS_SELECTOR, "details table.chart-table")  # its table
        legend = [li.text for li in figure.find_elements(By.CSS_SELECTOR, ".chart-legend li")]
        assert legend == ["XA-NRM → XB-NRM", "XC-NRM → XB-NRM"]  # side by side
    assert en["trends.figure.referrals"] in trends.text
    # The open alerts: the overdue arrival and the person missing in transit.
    rows = trends.find_elements(By.CSS_SELECTOR, "table.alerts tbody tr")
    assert 2 <= len(rows) <= 50
    alerts = trends.find_element(By.CSS_SELECTOR, "table.alerts").get_attribute("textContent")
    assert en["alerts.kind.transit-incident"] in alerts
    assert "confirm arrival" in alerts or "Confirm arrival" in alerts
    link = b.find("#download-csv")
    assert link.get_attribute("data-path").startswith("/v1/monitor/statistics/htcds?from=")
    # The trends with every chart's table open are axe clean.
    b.driver.execute_script(
        "document.querySelectorAll('section.trends details').forEach(d => d.open = true)")
    violations = b.axe()
    assert violations == [], violations
    b.driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = false)")
    b.screenshot("monitor-trends")

    # Split by sex: each chart's legend is now the categories.
    b.choose("#breakdown", "sex")
    sexes = [en["value.female"], en["value.male"], en["value.other"], en["value.unknown"]]
    legend, heads, cells = b.wait(lambda d: (found := first_chart(b)) and found[0] == sexes
                                  and found)
    assert f"XA-NRM → XB-NRM · {en['value.female']}" in heads
    # A suppressed cell reads as such in the table, never as a number.
    assert en["charts.suppressed"].replace("{k}", "11") in cells
    assert b.axe() == []


def test_the_corridors_page_in_arabic(monitor_page: tuple[Browser, str, str]) -> None:
    b, url, token = monitor_page
    ar = b.corridors(url, token, "ar")
    b.wait(lambda d: len(charts(b)) == FIGURES)
    assert b.driver.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    assert ar["trends.title"] in b.find("section.trends").text
    # Every label of a chart stands inside its picture, none cut off at the edge in RTL.
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "figure.chart svg text"))
    outside = b.driver.execute_script(
        "return [...document.querySelectorAll('figure.chart svg')].flatMap((svg) => {"
        "  const box = svg.getBoundingClientRect();"
        "  return [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim()"
        "    && t.getBoundingClientRect().width > 0"
        "    && (t.getBoundingClientRect().left < box.left - 1"
        "        || t.getBoundingClientRect().right > box.right + 1)).map((t) => t.textContent);"
        "});")
    assert outside == [], outside
    violations = b.axe()
    assert violations == [], violations
    b.screenshot("monitor-trends-ar")
