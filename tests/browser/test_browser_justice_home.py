"""Justice from home in the browser: the receiving agency's case page lists the open
requests as items it owes, in its reader's language, and its form answers one; the
referring agency's page then no longer lists it. axe-core checks each page."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from services.api.web.languages import languages
from tests.browser.conftest import Web
from tests.browser.test_browser_case import no_serious_violations, open_form, recorded, submit
from tests.harness.http_nodes import XA, XB, open_case, play, token
from tests.harness.walks import witness_home_before_trial

EN, AR = languages()["en"].strings, languages()["ar"].strings


def owed(web: Web, rule: str) -> list[str]:
    return [e.text for e in web.browser.driver.find_elements(
        By.CSS_SELECTOR, f'#blocking li[data-rule="{rule}"]')]


def test_the_receiving_agency_answers_a_justice_request_from_its_case_page(web: Web) -> None:
    b, pair = web.browser, web.pair
    case_id = open_case(pair)
    play(pair, case_id, witness_home_before_trial(pair.clock.now().date()).moves)

    b.open(f"{web.urls[XB]}/ui/cases/{case_id}?lang=ar")
    b.sign_in(token(pair.xb.node))
    b.wait(lambda d: len(owed(web, "justice-request")) == 3)
    assert all(AR["need.justice-request"] in item for item in owed(web, "justice-request"))
    # What the case asks of this agency comes first, open, under "Next".
    assert AR["step.justice-response"] in b.text('section.next details[data-step="justice-response"]')
    no_serious_violations(web, "the receiving agency's case page in Arabic")

    b.open(f"{web.urls[XB]}/ui/cases/{case_id}?lang=en")
    b.wait(lambda d: len(owed(web, "justice-request")) == 3)
    form = open_form(web, "justice-response")
    b.fill("#f-justice-response-kind", "inform_person")
    b.fill("#f-justice-response-done_on", pair.clock.now().date().isoformat())
    b.fill("#f-justice-response-outcome", "done")
    submit(web, form)
    recorded(web, "justice-response")
    b.wait(lambda d: len(owed(web, "justice-request")) == 2)
    no_serious_violations(web, "the receiving agency's case page")
    pair.sync()

    b.open(f"{web.urls[XA]}/ui/cases/{case_id}?lang=en")
    b.sign_in(token(pair.xa.node))
    b.wait(lambda d: len(owed(web, "justice-request")) == 2)
    assert all(XB in item for item in owed(web, "justice-request"))
