"""A case from the browser, as caseworkers at both agencies would take it: open it, record
consent, see a referral refused and why, refer, and on the partner's page acknowledge and
accept; then read the page in Arabic. axe-core checks every page on the way, and "Take this
case" stands apart from "unassigned" in either direction."""

from __future__ import annotations

import json

from selenium.webdriver.common.by import By

from services.api.web.languages import languages
from tests.browser.conftest import Web
from tests.harness.http_nodes import XA, XB, token

EN = languages()["en"].strings


def open_form(web: Web, step: str, prefix: str = "f") -> str:
    """Unfold a step's form (and the phase it is grouped under); returns the form's CSS."""
    web.browser.unfold_step(step)
    return f'form[data-form="{prefix}-{step}"]'


def submit(web: Web, form: str) -> None:
    web.browser.find(f"{form} button[type=submit]").click()


def recorded(web: Web, step: str) -> None:
    expected = EN["recorded"].replace("{step}", EN[f"step.{step}"])
    web.browser.wait(lambda d: d.find_element(By.ID, "notice").text == expected)


def no_serious_violations(web: Web, page: str) -> None:
    violations = web.browser.axe()
    assert violations == [], f"{page}: {json.dumps(violations, indent=1)}"


def gap_before_take(web: Web) -> float:
    """The space between "unassigned" and the button to take the case after it, in the
    page's direction, in CSS pixels."""
    return float(web.browser.driver.execute_script(
        "const a = document.getElementById('assignee').getBoundingClientRect();"
        "const b = document.getElementById('take').getBoundingClientRect();"
        "return document.dir === 'rtl' ? a.left - b.right : b.left - a.right;"))


def test_a_case_goes_from_opening_to_acceptance_in_the_browser(web: Web) -> None:
    b, pair = web.browser, web.pair
    xa, xb = web.urls[XA], web.urls[XB]

    # The referring caseworker opens the case from the opening form.
    b.open(f"{xa}/ui/cases/new?lang=en")
    b.sign_in(token(pair.xa.node))
    b.find('form[data-form="open"]')
    no_serious_violations(web, "opening form")
    for field, value in {"kind": "repatriation", "receiving_agency": XB,
                         "person-given_names": "Amina Grace", "person-family_name": "Okafor",
                         "person-date_of_birth": "1995-02-11", "person-sex": "female",
                         "person-nationality": "NG", "person-languages": "en, yo",
                         "minor": "false", "identification": "formal",
                         "reason": "Identified at a labour inspection.",
                         "urgency": "routine"}.items():
        b.fill(f"#open-{field}", value)
    submit(web, 'form[data-form="open"]')
    b.wait(lambda d: "/ui/cases/new" not in d.current_url)
    case_id = b.driver.current_url.rsplit("/", 1)[-1]
    assert pair.xa.state(case_id)["person"]["languages"] == ["en", "yo"]
    b.find("#lanes .lane-row")
    open_ = pair.xa.get(f"/v1/cases/{case_id}/steps").json()
    offered = set(open_["steps"]) | set(open_["ask"])  # to record, or to ask a supervisor for
    b.wait(lambda d: sorted(e.get_attribute("data-step") for e in d.find_elements(By.CSS_SELECTOR, "details.step")) == sorted(offered))
    # What the case asks of this agency first, open, under "Next"; the rest closed by phase.
    assert open_["next"] == ["consent"]
    b.wait(lambda d: [e.get_attribute("data-step") for e in d.find_elements(
        By.CSS_SELECTOR, "section.next details.step[open]")] == open_["next"])
    assert not b.driver.find_elements(By.CSS_SELECTOR, "details.phase[open]")
    no_serious_violations(web, "case page")
    b.find("#take")
    assert gap_before_take(web) >= 8

    # A referral before consent is refused: the rule in plain words, whom it waits on,
    # and the note typed into the form is still there.
    form = open_form(web, "referral")
    b.fill(f"{form} #f-referral-note", "Referred after the inspection.")
    submit(web, form)
    refusal = b.find(f"{form} .refusal")
    assert EN["rule.consent-required"] in refusal.text
    assert b.text(f"{form} .refusal .owed-by") == XA
    assert b.find(f"{form} #f-referral-note").get_attribute("value") == "Referred after the inspection."
    assert pair.xa.state(case_id)["version"] == 1  # nothing was recorded

    form = open_form(web, "consent")
    b.fill_consent()
    submit(web, form)
    recorded(web, "consent")
    submit(web, open_form(web, "referral"))
    recorded(web, "referral")
    pair.sync()

    # At the receiving agency: the referral arrived; acknowledge and accept it.
    b.open(f"{xb}/ui/cases/{case_id}")
    b.sign_in(token(pair.xb.node))
    b.wait(lambda d: EN["event.ReferralSent"] in d.find_element(By.ID, "lanes").text)
    form = open_form(web, "acknowledgement")
    b.fill("#f-acknowledgement-contact-name", "Efe Adeyemi")
    b.fill("#f-acknowledgement-contact-email", "efe@xb-nrm.example")
    b.fill("#f-acknowledgement-deputy-name", "Tunde Bello")
    b.fill("#f-acknowledgement-deputy-email", "tunde@xb-nrm.example")
    submit(web, form)
    recorded(web, "acknowledgement")
    submit(web, open_form(web, "acceptance"))
    recorded(web, "acceptance")
    assert b.text("#summary .pill") == EN["status.accepted"]
    no_serious_violations(web, "partner's case page")
    pair.sync()

    # Back at the referring agency (the tab still holds its token): the partner's steps
    # are in its lane, with their receipts; transport is refused until return is agreed.
    b.open(f"{xa}/ui/cases/{case_id}")
    b.wait(lambda d: EN["event.ReferralAccepted"] in d.find_element(By.ID, "lanes").text)
    crossed = b.driver.find_elements(By.CSS_SELECTOR, ".lane-row.end.crossed")
    assert len(crossed) == 2 and all(EN["timeline.received"] in r.text for r in crossed)
    # Its own facts say when the partner's receipt came (the page reads them every 10 s).
    receipted = EN["timeline.delivered"].split("{when}")[0].strip()
    b.wait(lambda d: len([e for e in d.find_elements(By.CSS_SELECTOR, ".lane-row.start .delivery")
                          if receipted in e.text]) == 3, timeout=30)
    form = open_form(web, "transport")
    for field, value in {"mode": "air", "route": "Lisbon to Lagos", "escort": "A. Mensah",
                         "departure_at": "2025-03-20T09:00", "arrival_at": "2025-03-20T17:00",
                         "medical_escort": "false", "fit_to_travel": "true"}.items():
        b.fill(f"#f-transport-{field}", value)
    submit(web, form)
    assert EN["rule.return-consent-required"] in b.text(f"{form} .refusal")
    assert b.text(f"{form} .refusal .owed-by") == XA
    b.screenshot("case-page")

    # Someone else records a step meanwhile: the form, opened on the version before, is told
    # so (If-Match), and nothing is overwritten.
    version = pair.xa.state(case_id)["version"]
    moved = pair.xa.step(case_id, "legal-proceeding", {"reference": "CR-2025-118", "role": "witness"})
    assert moved.status_code == 200, moved.text
    after_move = pair.xa.state(case_id)["version"]
    assert after_move > version
    submit(web, form)
    b.wait(lambda d: EN["conflict.title"] in d.find_element(By.CSS_SELECTOR, f"{form} .refusal").text)
    assert pair.xa.state(case_id)["version"] == after_move  # the form recorded nothing
    assert b.find(f"{form} #f-transport-route").get_attribute("value") == "Lisbon to Lagos"

    # In Arabic: the same page, right to left, remembered for the next page.
    b.find('a[hreflang="ar"]').click()
    b.wait(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl")
    assert b.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ar"
    ar = languages()["ar"].strings
    b.wait(lambda d: ar["status.accepted"] in d.find_element(By.ID, "summary").text)
    assert gap_before_take(web) >= 8
    no_serious_violations(web, "case page in Arabic")
    b.open(f"{xa}/ui/cases/new")
    assert b.driver.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    b.find('form[data-form="open"]')
    no_serious_violations(web, "opening form in Arabic")
    b.screenshot("opening-form-ar")

    # An auditor reads the same page with no form, and verifies the chains from it.
    b.open(f"{xa}/ui/cases/{case_id}?lang=en")
    b.find("#forget").click()
    b.sign_in(token(pair.xa.node, "auditor"))
    b.find("#verify").click()
    b.wait(lambda d: d.find_element(By.ID, "verify-result").text.startswith("Every chain holds"))
    b.find("#cross-check").click()  # both agencies' records compared through XB's node
    b.wait(lambda d: d.find_element(By.ID, "cross-check-result").text
           == f"{XB}'s records of this case agree with these.")
    assert not b.driver.find_element(By.ID, "steps-section").is_displayed()
    assert b.driver.find_elements(By.CSS_SELECTOR, "details.step") == []
    assert b.find("#export").is_displayed()
    no_serious_violations(web, "case page for an auditor")

    b.open(f"{xa}/ui/board?lang=en")
    b.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cases tbody tr")) == 1)
    no_serious_violations(web, "status board")
    b.screenshot("board")
