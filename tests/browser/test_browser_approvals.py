"""Four eyes in the browser: a caseworker asks for a closure that needs a supervisor, a
supervisor approves it from the board's "Awaiting approval", and the case page shows the
closure as the caseworker's, approved by the supervisor. axe-core checks each page."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.conftest import Web
from tests.browser.test_browser_case import EN, no_serious_violations, open_form, submit
from tests.harness.http_nodes import XA, opening, token


def switch_to(web: Web, bearer: str) -> None:
    web.browser.driver.execute_script(
        "sessionStorage.setItem('homeward-token', arguments[0])", bearer)


def test_a_closure_asked_by_a_caseworker_is_approved_from_the_queue(web: Web) -> None:
    b, pair, xa = web.browser, web.pair, web.urls[XA]
    created = pair.xa.post("/v1/cases", opening())
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]

    # The caseworker takes the case, then asks for a closure as completed before the
    # person is home, which only a supervisor's justification allows.
    b.open(f"{xa}/ui/cases/{case_id}?lang=en")
    b.sign_in(token(pair.xa.node, sub="anna"))
    b.find("#take").click()
    b.wait(lambda d: d.find_element(By.ID, "assignee").text == "anna")
    form = open_form(web, "closure", prefix="a")
    b.fill(f"{form} #a-closure-reason", "completed")
    b.fill(f"{form} #a-closure-justification", "The person settled with family abroad.")
    b.fill(f"{form} #a-closure--why", "Closing needs a supervisor's justification.")
    submit(web, form)
    sent = EN["request.sent"].replace("{step}", EN["step.closure"])
    b.wait(lambda d: d.find_element(By.ID, "notice").text == sent)
    b.wait(lambda d: "approval-pending" in [
        e.get_attribute("data-rule") for e in d.find_elements(By.CSS_SELECTOR, "#blocking li")])
    no_serious_violations(web, "case page with a request")
    assert pair.xa.state(case_id)["closed"] is False

    # The supervisor approves it from the board's queue.
    switch_to(web, token(pair.xa.node, "supervisor", sub="sara"))
    b.open(f"{xa}/ui/board?lang=en")
    row = '#approvals tr[data-step="closure"]'
    assert b.text(f"{row} td:nth-child(3)") == "anna"
    asked = b.text(f"{row} td:nth-child(2)")  # what is asked, and why
    assert "Closing needs a supervisor's justification." in asked
    assert "The person settled with family abroad." in asked
    # The board names who holds each case; "My cases" shows the supervisor holds none.
    b.wait(lambda d: d.find_element(By.CSS_SELECTOR, f'#cases tr[data-id="{case_id}"] .assignee').text == "anna")
    no_serious_violations(web, "board with the approvals queue")
    b.screenshot("board-approvals")
    b.find("#mine").click()
    b.find("#no-cases")
    b.find("#mine").click()
    b.find(f'#cases tr[data-id="{case_id}"]')
    b.find(f"{row} button.approve").click()
    decided = EN["approval.decided"].replace("{step}", EN["step.closure"])
    b.wait(lambda d: d.find_element(By.ID, "approval-notice").text == decided)
    b.find("#no-approvals")
    assert pair.xa.state(case_id)["closed"] is True

    # The case page: the closure is the caseworker's, approved by the supervisor.
    b.open(f"{xa}/ui/cases/{case_id}?lang=en")
    closed = EN["event.CaseClosed"]
    b.wait(lambda d: closed in d.find_element(By.ID, "lanes").text)
    event = next(e for e in b.driver.find_elements(By.CSS_SELECTOR, "#lanes .event")
                 if closed in e.text)
    assert "anna" in event.text
    assert EN["timeline.approved-by"].replace("{sub}", "sara") in event.text
    # Never referred, the case's own facts wait to cross: none is received yet.
    assert EN["timeline.not-received"] in event.text
    no_serious_violations(web, "case page after the approval")
    b.screenshot("case-approved")
