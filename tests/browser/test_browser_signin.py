"""Single sign-on in the browser: a caseworker opens the board of a node configured with the
agency's OpenID provider (a real one over TLS, started here), is sent to the provider, comes
back signed in, sees the agency's cases, records a step on a case's page, and signs out."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from selenium.webdriver.common.by import By

from services.api.app import create_app
from services.api.node import Node
from services.api.web.languages import languages
from services.bootstrap import build_node
from services.clock import FixedClock
from services.settings import load
from tests.browser.web import SHOTS, Browser, chromium, serving
from tests.harness.http_nodes import XA, opening
from tests.harness.openid_provider import OpenIdProvider

EN = languages()["en"].strings
CONSENT = {"scopes": ["refer", "share_identity", "return"], "language": "en",
           "interpreter": False, "given_by": "person"}


@dataclass
class SignInSetting:
    browser: Browser
    provider: OpenIdProvider
    node: Node
    url: str


def trusted_only(certificate: Path) -> str:
    """Chromium's flag trusting this one server key (the test provider's) and no other."""
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return "--ignore-certificate-errors-spki-list=" + base64.b64encode(
        hashlib.sha256(spki).digest()).decode()


@pytest.fixture
def setting(tmp_path: Path) -> Iterator[SignInSetting]:
    with OpenIdProvider(tmp_path / "idp", client_id="homeward-xa-nrm") as provider:
        settings = load(agency=XA, data_dir=tmp_path / "xa", oidc_issuer=provider.issuer,
                        oidc_client_id=provider.client_id, oidc_ca_file=provider.ca)
        node = build_node(settings, FixedClock(datetime.now(UTC).replace(microsecond=0)))
        try:
            with chromium(tmp_path / "profile", (trusted_only(provider.cert),)) as driver, \
                    serving(create_app(node)) as url:
                provider.redirect_uris.add(f"{url}/ui/signin/callback")
                yield SignInSetting(Browser(driver, Path(SHOTS) if SHOTS else None), provider, node, url)
        finally:
            node.close()


def open_case(setting: SignInSetting, key: str) -> str:
    """A case opened through the API with a token from the provider."""
    response = httpx.post(f"{setting.url}/v1/cases", json=opening(), headers={
        "Authorization": f"Bearer {setting.provider.mint()}", "Idempotency-Key": key})
    assert response.status_code == 201, response.text
    case_id: str = response.json()["id"]
    return case_id


def stored_token(b: Browser) -> str | None:
    token: str | None = b.driver.execute_script(
        "return sessionStorage.getItem('homeward-token')")
    return token


def no_serious_violations(b: Browser, page: str) -> None:
    violations = b.axe()
    assert violations == [], f"{page}: {json.dumps(violations, indent=1)}"


def test_a_caseworker_signs_in_at_the_provider_records_a_step_and_signs_out(
        setting: SignInSetting) -> None:
    b, provider = setting.browser, setting.provider
    cases = {open_case(setting, "sso-1"), open_case(setting, "sso-2")}

    # The board without a token: off to the provider, which approves its user, and back.
    b.open(f"{setting.url}/ui/board?lang=en")
    b.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#cases tbody tr")) == 2)
    assert b.driver.current_url == f"{setting.url}/ui/board?lang=en"  # no code or state left
    assert {r.get_attribute("data-id") for r in
            b.driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr")} == cases
    [asked] = provider.authorizations
    assert asked["code_challenge_method"] == "S256" and asked["client_id"] == "homeward-xa-nrm"
    assert stored_token(b) is not None
    assert b.driver.get_cookies() == [] or all(  # the sign-in's cookie is gone
        c["name"] != "homeward-signin" for c in b.driver.get_cookies())
    assert b.text("#forget") == EN["signin.signout"]
    assert b.text("#who") == EN["signin.as"].replace("{who}", provider.user["sub"])
    assert not b.driver.find_elements(By.ID, "token")  # nothing to paste
    b.screenshot("board-signed-in")
    no_serious_violations(b, "board, signed in")

    # A case's page from the board, and a step recorded with the provider's token.
    case_id = sorted(cases)[0]
    b.find(f'#cases tbody tr[data-id="{case_id}"]').click()
    b.find("#case-link").click()
    b.wait(lambda d: d.current_url.startswith(f"{setting.url}/ui/cases/{case_id}"))
    b.record_consent(CONSENT["scopes"])  # type: ignore[arg-type]
    timeline = httpx.get(f"{setting.url}/v1/cases/{case_id}/timeline",
                         headers={"Authorization": f"Bearer {provider.mint()}"}).json()
    assert [(e["type"], e["actor"]) for e in timeline["events"]][-1] == (
        "ConsentRecorded", provider.user["sub"])

    # Signing out: the token is forgotten, the provider ends its session, and the page
    # waits for a click instead of signing in again by itself.
    b.find("#forget").click()
    b.wait(lambda d: d.find_element(By.ID, "signin-error").text == EN["signin.signed-out"])
    assert b.driver.current_url.startswith(f"{setting.url}/ui/cases/{case_id}")
    assert stored_token(b) is None and len(provider.signouts) == 1
    assert not b.driver.find_element(By.ID, "who").is_displayed()
    assert len(provider.authorizations) == 1
    assert b.find("#signin-provider").text == EN["signin.provider"]
    b.screenshot("signed-out")
    no_serious_violations(b, "case page, signed out")

    # Signing in again is one click, back to the same page.
    b.find("#signin-provider").click()
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, 'details[data-step]'))
    assert len(provider.authorizations) == 2 and stored_token(b) is not None
    assert b.driver.current_url.startswith(f"{setting.url}/ui/cases/{case_id}")

    # A callback this tab did not start (a forged or replayed one) is refused, in words.
    b.open(f"{setting.url}/ui/signin/callback?code=stolen&state=forged")
    assert b.text("h1") == EN["signin.failed"]
    assert "no sign-in was started in this browser" in b.text("[role=alert]")
    assert len(provider.token_requests) == 2  # no code was spent on it
    no_serious_violations(b, "a refused sign-in")
    b.find("a.button").click()
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#cases tbody tr"))
    assert len(provider.authorizations) == 3
