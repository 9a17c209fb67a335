"""Notes and documents on the case page, in Chromium: a caseworker writes a note, uploads a
scan and opens it again; the sections read in the four languages; an auditor sees neither;
axe-core checks the page."""

from __future__ import annotations

import hashlib
from pathlib import Path

from selenium.webdriver.common.by import By

from services.api.web.languages import languages
from tests.browser.conftest import Web
from tests.browser.test_browser_case import no_serious_violations, open_form, recorded, submit
from tests.harness.http_nodes import open_case, token

WORDS = {code: languages()[code].strings for code in ("en", "fr", "es", "ar")}
EN = WORDS["en"]
SCAN = b"%PDF-1.7\n% a scanned travel document\n" + bytes(range(256)) * 8


def test_a_note_and_a_document_on_the_case_page(web: Web, tmp_path: Path) -> None:
    b, pair = web.browser, web.pair
    case_id = open_case(pair)
    page = f"{web.urls[pair.xa.agency]}/ui/cases/{case_id}"
    b.open(f"{page}?lang=en")
    b.sign_in(token(pair.xa.node))
    b.find("#casefiles")
    assert b.text("#notes .empty") == EN["notes.none"]
    assert b.text("#documents .empty") == EN["documents.none"]

    form = open_form(web, "notes")
    b.fill(f"{form} #f-notes-text", "Met her sister at the shelter; she will call on Monday.")
    submit(web, form)
    recorded(web, "notes")
    b.wait(lambda d: "Met her sister" in d.find_element(By.ID, "notes").text)
    assert "xa-nrm-caseworker" in b.text("#notes .note")

    scan = tmp_path / "passport scan.pdf"
    scan.write_bytes(SCAN)
    b.find("#document-file").send_keys(str(scan))
    b.find("#document-upload").click()
    b.wait(lambda d: d.find_element(By.ID, "upload-result").text
           == EN["documents.uploaded"].replace("{name}", "passport scan.pdf"))
    row = b.find("#documents tr[data-document]")
    assert "passport scan.pdf" in row.text and "application/pdf" in row.text
    [listed] = pair.xa.get(f"/v1/cases/{case_id}/documents").json()["documents"]
    assert listed["sha256"] == hashlib.sha256(SCAN).hexdigest()
    assert row.get_attribute("data-document") == listed["id"]
    no_serious_violations(web, "case page with notes and documents")

    # A file of another type is refused by the node, and the page says why.
    other = tmp_path / "notes.txt"
    other.write_text("not a scan")
    b.find("#document-file").send_keys(str(other))
    b.find("#document-upload").click()
    b.wait(lambda d: "a document is one of" in d.find_element(By.ID, "upload-result").text)
    assert len(pair.xa.get(f"/v1/cases/{case_id}/documents").json()["documents"]) == 1

    for code in ("fr", "es", "ar"):
        b.open(f"{page}?lang={code}")
        b.find("#casefiles")
        assert b.text("#notes-title") == WORDS[code]["notes.title"]
        assert b.text("#documents-title") == WORDS[code]["documents.title"]
        assert b.find("#document-upload").text == WORDS[code]["documents.upload"]
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#documents tr[data-document]"))
        no_serious_violations(web, f"case page in {code}")

    # An auditor reads the case, not its notes nor its documents.
    b.driver.execute_script("sessionStorage.clear()")
    b.open(f"{page}?lang=en")
    b.sign_in(token(pair.xa.node, "auditor"))
    b.find("#audit-tools")
    assert not b.driver.find_element(By.ID, "casefiles").is_displayed()
    assert "Met her sister" not in b.driver.page_source
