"""The transfer form on the case page, in Chromium: only a supervisor of the referring
agency is offered it; refused without the person's consent naming the new agency, then
done, the page linking to the new case; axe-core checks the page."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By

from services.exchange.directory import load, publish, save
from services.signing import load_or_create
from tests.browser.conftest import Web
from tests.browser.test_browser_case import EN, no_serious_violations
from tests.harness.http_nodes import XA, XB, open_case, token

XC = "XC-NRM"
CONSENT = {"scopes": ["refer", "share_identity"], "language": "en", "interpreter": False,
           "given_by": "person"}


def test_a_supervisor_transfers_a_case_from_its_page(web: Web, tmp_path: Path) -> None:
    b, pair = web.browser, web.pair
    directory = tmp_path / "directory.json"  # a third agency, on a corridor from XA
    publish(directory, load_or_create(tmp_path / "xc-keys", XC))
    save(directory, load(directory).with_corridor(XA, XC))
    case_id = open_case(pair)
    for path, body in (("consent", CONSENT), ("referral", {})):
        assert pair.xa.step(case_id, path, body).status_code == 200
    pair.sync()
    page = f"{web.urls[XA]}/ui/cases/{case_id}?lang=en"

    b.open(page)
    b.sign_in(token(pair.xa.node))  # a caseworker is not offered the transfer
    b.find("#lanes .lane-row")
    assert not b.driver.find_element(By.ID, "transfer-section").is_displayed()

    b.driver.execute_script("sessionStorage.clear()")
    b.open(page)
    b.sign_in(token(pair.xa.node, "supervisor"))
    b.find("#transfer-section")
    no_serious_violations(web, "case page with the transfer form")
    b.fill("#transfer-to", XC)
    b.fill("#transfer-reason", "A third country accepts her.")
    b.find("#transfer-submit").click()
    b.wait(lambda d: EN["rule.consent-required"] in d.find_element(By.ID, "transfer-result").text)
    assert pair.xa.get("/v1/cases").json()["total"] == 1

    consent = pair.xa.step(case_id, "consent", {**CONSENT, "scopes": ["refer"], "refer_to": XC})
    assert consent.status_code == 200
    b.find("#transfer-submit").click()
    link = b.find("#notice a")
    new = link.get_attribute("href").rsplit("/", 1)[-1]
    assert pair.xa.state(new)["transferred_from"] == case_id
    pair.sync()
    for http in (pair.xa, pair.xb):
        assert http.state(case_id)["closure_reason"] == "transferred"
    b.wait(lambda d: not d.find_element(By.ID, "transfer-section").is_displayed())  # closed
    link.click()
    b.wait(lambda d: d.current_url.endswith(new))
    b.find("#transferred-from a")
    assert b.text("#transferred-from a") == case_id
    assert XB not in b.text("#summary")  # the new case's partner is XC
    no_serious_violations(web, "the new case")
