"""The status board in the browser, with the rights and safety fields the API returns: an
urgent case first and marked in words, a case's open legal matters, the reflection
period's end as a clock, a case on hold; and what blocks each case in the page's language,
on the board and on the case page; an overdue clock named in the page's language, with
the kind of measure it renews; a case's legal matters in the page's language. axe-core checks the board in English and in Arabic."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from services.api.web.languages import languages
from services.clock import FixedClock
from tests.browser.web import SHOTS, Browser, chromium, serving
from tests.harness.http_nodes import Pair, open_case, pair, token

EN, ES, FR, AR = (languages()[code].strings for code in ("en", "es", "fr", "ar"))
CONSENT = {"scopes": ["refer", "share_identity", "return"], "language": "en",
           "interpreter": False, "given_by": "person"}


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[Browser, Pair, str]]:
    # The node's clock at the wall clock's time: the page counts the reflection period's
    # days left from the time the server's responses carry.
    p = pair(tmp_path, FixedClock(datetime.now(UTC).replace(microsecond=0)))
    try:
        with chromium(tmp_path / "profile") as driver, serving(p.xa.client.app) as url:  # type: ignore[arg-type]
            yield Browser(driver, Path(SHOTS) if SHOTS else None), p, url
    finally:
        p.close()


def step(p: Pair, case_id: str, path: str, body: dict[str, object]) -> None:
    response = p.xa.step(case_id, path, body)
    assert response.status_code == 200, (path, response.text)
    p.clock.advance(seconds=20)


def cases(p: Pair) -> dict[str, str]:
    """Three cases at the referring agency, the urgent one the oldest."""
    urgent = open_case(p, urgency="urgent")
    p.clock.advance(seconds=20)
    started = (p.clock.now() - timedelta(days=2)).date().isoformat()
    witness = open_case(p, reflection_period_start=started)
    p.clock.advance(seconds=20)
    step(p, witness, "consent", CONSENT)
    step(p, witness, "legal-proceeding", {"reference": "CR-2025-118", "role": "witness"})
    held = open_case(p)
    p.clock.advance(seconds=20)
    step(p, held, "consent", CONSENT)
    step(p, held, "consent-withdrawal", {"scopes": ["return"]})
    return {"urgent": urgent, "witness": witness, "held": held}


def rows(b: Browser) -> list[str]:
    return [r.get_attribute("data-id") for r in b.driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")]


def row(b: Browser, case_id: str) -> str:
    return f'#cases tbody tr[data-id="{case_id}"]'


def no_serious_violations(b: Browser, page: str) -> None:
    violations = b.axe()
    assert violations == [], f"{page}: {json.dumps(violations, indent=1)}"


def test_the_board_shows_urgency_legal_matters_reflection_and_holds(
        board: tuple[Browser, Pair, str]) -> None:
    b, p, url = board
    made = cases(p)
    api = p.xa.get("/v1/cases").json()["items"]
    by_id = {c["id"]: c for c in api}
    # What the page is checked against: the API's own fields and order.
    assert [c["id"] for c in api] == [made["urgent"], made["held"], made["witness"]]
    assert by_id[made["urgent"]]["urgent"] and by_id[made["held"]]["status"] == "on_hold"
    assert by_id[made["witness"]]["legal_matters"] and by_id[made["witness"]]["reflection_period_ends"]

    b.open(f"{url}/ui/board?lang=en")
    b.sign_in(token(p.xa.node))
    b.wait(lambda d: rows(b) == [c["id"] for c in api])  # urgent first, as the API sorts

    # Urgency in words, not only by colour; only on the urgent case.
    assert b.text(f'{row(b, made["urgent"])} .urgent-badge') == EN["board.urgent"]
    assert len(b.driver.find_elements(By.CSS_SELECTOR, "#cases .urgent-badge")) == 1
    assert "urgent" in (b.find(row(b, made["urgent"])).get_attribute("class") or "").split()

    # A case on hold: its own label and colour, and what it waits on.
    held = row(b, made["held"])
    assert b.text(f"{held} .pill") == EN["status.on_hold"]
    assert "s-on_hold" in (b.find(f"{held} .pill").get_attribute("class") or "").split()
    assert b.text(f"{held} .waiting li") == EN["need.consent-withdrawal-halts"]

    # The witness's open proceeding, and the reflection period's end with the days left.
    witness = row(b, made["witness"])
    matters = [li.text for li in b.driver.find_elements(By.CSS_SELECTOR, f"{witness} .legal li")]
    assert matters == by_id[made["witness"]]["legal_matters"]
    assert "CR-2025-118" in matters[0]
    ends = by_id[made["witness"]]["reflection_period_ends"]
    reflection = b.text(f"{witness} .clocks .reflection")
    day = b.driver.execute_script(
        "return new Intl.DateTimeFormat('en', {dateStyle: 'medium', timeZone: 'UTC'})"
        ".format(new Date(arguments[0] + 'T00:00:00Z'))", ends)
    assert reflection.startswith(EN["board.reflection"].replace("{when}", day)), reflection
    assert "(in 27d" in reflection, reflection

    # What blocks the urgent case: the phrase for its rule, not the server's English detail.
    urgent = row(b, made["urgent"])
    item = b.find(f'{urgent} .waiting li[data-rule="consent-required"]')
    assert item.text == EN["need.consent-required"]
    assert item.get_attribute("title") == EN["rule.consent-required"]
    no_serious_violations(b, "status board")
    b.screenshot("board-urgent")

    # In French: every blocking item reads in French.
    b.open(f"{url}/ui/board?lang=fr")
    b.wait(lambda d: rows(b) == [c["id"] for c in api])
    assert b.text(f'{urgent} .waiting li[data-rule="consent-required"]') == FR["need.consent-required"]
    assert b.text(f"{held} .waiting li") == FR["need.consent-withdrawal-halts"]
    assert b.text(f'{urgent} .urgent-badge') == FR["board.urgent"]
    assert FR["board.reflection"].split("{when}")[0] in b.text(f"{witness} .clocks .reflection")
    english = {c["blocking"][0]["detail"] for c in api}
    assert not english & {li.text for li in b.driver.find_elements(By.CSS_SELECTOR, "#cases .waiting li")}

    # And on the case page, in French.
    b.open(f"{url}/ui/cases/{made['held']}")
    b.wait(lambda d: FR["need.consent-withdrawal-halts"] in d.find_element(By.ID, "blocking").text)
    assert b.text('#blocking li[data-rule="consent-withdrawal-halts"] .need') == FR["need.consent-withdrawal-halts"]
    assert by_id[made["held"]]["blocking"][0]["detail"] not in b.text("#blocking")

    # In Arabic, right to left, still without a serious accessibility issue.
    b.open(f"{url}/ui/board?lang=ar")
    b.wait(lambda d: rows(b) == [c["id"] for c in api])
    assert b.text(f'{urgent} .urgent-badge') == AR["board.urgent"]
    assert b.text(f"{held} .waiting li") == AR["need.consent-withdrawal-halts"]
    no_serious_violations(b, "status board in Arabic")
    b.screenshot("board-ar")


def test_an_overdue_renewal_is_named_in_the_page_s_language(
        board: tuple[Browser, Pair, str]) -> None:
    b, p, url = board
    case_id = open_case(p)
    step(p, case_id, "protection-measure",
         {"kind": "anonymity_order", "valid_until": p.clock.now().date().isoformat()})
    p.clock.advance(days=2)
    api = p.xa.get("/v1/cases").json()["items"]
    assert [c["name"] for c in api[0]["overdue"]] == ["renew the anonymity order"]

    b.open(f"{url}/ui/board?lang=es")
    b.sign_in(token(p.xa.node))
    clock = b.text(f"{row(b, case_id)} .clocks li strong")
    assert clock == ES["clock.renew the {kind}"].replace("{kind}", ES["value.anonymity_order"])
    assert not {"renew", "anonymity", "order"} & set(clock.split()), clock
    # Each kind of name: by its key, by its template with a number, a reference, a kind; an
    # unknown one as it is.
    names = b.driver.execute_script(
        "return ['verify identity', 'follow-up month 12', 'inform the person: proceeding CR-9',"
        " 'justice from home: remote testimony', 'some new clock'].map(clockName)")
    assert names == [ES["clock.verify identity"], ES["clock.follow-up month {month}"].replace("{month}", "12"),
                     ES["clock.inform the person: proceeding {reference}"].replace("{reference}", "CR-9"),
                     ES["clock.justice from home: {kind}"].replace("{kind}", ES["value.remote_testimony"]),
                     "some new clock"]


def fill(template: str, **values: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def test_legal_matters_read_in_the_page_s_language(board: tuple[Browser, Pair, str]) -> None:
    b, p, url = board
    case_id = open_case(p)
    ends = (p.clock.now().date() + timedelta(days=10)).isoformat()
    step(p, case_id, "legal-proceeding", {"reference": "CR-2025-118", "role": "witness"})
    step(p, case_id, "protection-measure", {"kind": "anonymity_order", "valid_until": ends})
    api = p.xa.get("/v1/cases").json()["items"][0]
    days = api["legal_items"][1]["days_left"]
    assert api["legal_matters"] == ["proceeding CR-2025-118 (witness)",
                                    f"anonymity order until {ends}, expires in {days} days"]

    b.open(f"{url}/ui/board?lang=es")
    b.sign_in(token(p.xa.node))
    b.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, f"{row(b, case_id)} .legal li")) == 2)
    matters = [li.text for li in b.driver.find_elements(By.CSS_SELECTOR, f"{row(b, case_id)} .legal li")]
    until, left = b.driver.execute_script(
        "return [new Intl.DateTimeFormat('es', {dateStyle: 'medium', timeZone: 'UTC'})"
        ".format(new Date(arguments[0] + 'T00:00:00Z')),"
        " new Intl.RelativeTimeFormat('es', {numeric: 'always'}).format(arguments[1], 'day')]",
        ends, days)
    assert matters == [
        fill(ES["legal.proceeding"], reference="CR-2025-118", role=ES["value.witness"]),
        fill(ES["legal.protection_measure.left"], measure=ES["value.anonymity_order"], until=until,
             **{"in": left})]
    english = {"proceeding", "witness", "anonymity", "order", "until", "expires", "in", "days"}
    assert not english & set(re.findall(r"\w+", " ".join(matters))), matters

    # In Arabic: no Latin word but the proceeding's reference.
    b.open(f"{url}/ui/board?lang=ar")
    b.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, f"{row(b, case_id)} .legal li")) == 2)
    arabic = [li.text for li in b.driver.find_elements(By.CSS_SELECTOR, f"{row(b, case_id)} .legal li")]
    assert set(re.findall(r"[A-Za-z]+", " ".join(arabic))) == {"CR"}, arabic
    assert arabic[0].startswith(AR["legal.proceeding"].split("{")[0]), arabic

    # A kind of matter this page does not know: the server's sentence; an answer without the
    # values (a node before them): the server's sentences as they are.
    shown = b.driver.execute_script(
        "return [legalMatter({kind: 'some_new_matter'}, 'the sentence'),"
        " legalMatters({legal_matters: ['fine open']}).textContent,"
        " legalMatter({kind: 'penalty_matter', matter: 'fine', linked_to_exploitation: true}),"
        " legalMatter({kind: 'protection_measure', measure: 'other', valid_until: '2027-01-10',"
        " days_left: -3})]")
    assert shown[:2] == ["the sentence", "fine open"]
    assert shown[2] == fill(AR["legal.penalty_matter.linked"], matter=AR["value.fine"])
    assert shown[3].startswith(AR["legal.protection_measure.ended"].split("{")[0]), shown


def test_a_blocking_item_of_a_code_the_page_does_not_know_shows_the_servers_detail(
        board: tuple[Browser, Pair, str]) -> None:
    b, p, url = board
    b.open(f"{url}/ui/board?lang=fr")
    b.sign_in(token(p.xa.node))
    b.find("#no-cases")
    phrases = b.driver.execute_script(
        "return [need({rule: 'some-new-rule', detail: 'the detail'}, 'opened'),"
        " need({rule: 'sequence', detail: 'x'}, 'scheduled'),"
        " need({rule: 'sequence', detail: 'x'}, 'some-new-status'),"
        " need({rule: 'reception-required', detail: 'x'}, 'accepted')]")
    assert phrases == ["the detail", FR["need.sequence.scheduled"], FR["need.sequence"],
                       FR["need.reception-required"]]


def shown_ids(b: Browser) -> list[str]:
    # Read in one script: the table may be drawn again between two element reads.
    return list(b.driver.execute_script(
        "return [...document.querySelectorAll('#cases tbody tr')].map((r) => r.dataset.id)"))


def test_the_board_pages_through_the_cases(board: tuple[Browser, Pair, str]) -> None:
    b, p, url = board
    made = []
    for _ in range(53):
        made.append(open_case(p))
        p.clock.advance(seconds=1)
    newest_first = made[::-1]
    b.open(f"{url}/ui/board?lang=en")
    b.sign_in(token(p.xa.node))
    b.wait(lambda d: shown_ids(b) == newest_first[:50])
    assert b.text("#page-of") == EN["board.page"].format(**{"from": 1, "to": 50, "n": 53})
    assert not b.find("#next").get_attribute("disabled")
    assert b.find("#previous").get_attribute("disabled")
    b.find("#next").click()
    b.wait(lambda d: shown_ids(b) == newest_first[50:])
    assert b.text("#page-of") == EN["board.page"].format(**{"from": 51, "to": 53, "n": 53})
    assert b.find("#next").get_attribute("disabled")
    b.find("#previous").click()
    b.wait(lambda d: shown_ids(b) == newest_first[:50])
    no_serious_violations(b, "status board, paged")
