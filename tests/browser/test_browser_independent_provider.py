"""Single sign-on in Chromium against an independent OpenID provider (the `oidc-provider-mock`
package from PyPI, built on Authlib, over TLS with a CA the test makes), in the shapes
agencies' providers have: its default opaque access tokens checked by introspection or,
without it, at the userinfo endpoint; JWT access tokens with Keycloak's and Entra ID's
claims. Its JWKS holds one key its ID tokens do not name (no `kid`). In each shape a
caseworker signs in on the provider's own form, records a step, signs out (the provider is
handed the sign-in's ID token), and, after the provider rotates its key, signs in again at
once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from selenium.webdriver.common.by import By

from services.api.app import create_app
from services.api.web.languages import languages
from services.bootstrap import build_node
from services.clock import FixedClock
from services.settings import load
from tests.browser.test_browser_signin import trusted_only
from tests.browser.web import SHOTS, Browser, chromium, serving
from tests.harness.http_nodes import XA, opening
from tests.harness.packaged_provider import PackagedProvider
from tests.harness.provider_shapes import (
    ANA,
    CLIENT,
    ENTRA,
    ENTRA_SETTINGS,
    KEYCLOAK,
    KEYCLOAK_SETTINGS,
)

EN = languages()["en"].strings
# The provider's page asks a CDN for its style sheet: nothing leaves this machine.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@dataclass(frozen=True)
class Shape:
    sub: str
    claims: dict[str, Any]
    provider: dict[str, Any]
    settings: dict[str, Any]


SHAPES = {
    "opaque tokens, introspection": Shape("ana", ANA, {"introspection": True}, {}),
    "opaque tokens, userinfo": Shape("ana", ANA, {}, {}),
    "Keycloak claims": Shape("ana", KEYCLOAK, {"jwt_access_tokens_for": "homeward-api"},
                             KEYCLOAK_SETTINGS),
    "Entra ID claims": Shape("ana@xa.example", ENTRA,
                             {"jwt_access_tokens_for": "api://homeward-xa-nrm"}, ENTRA_SETTINGS),
}


@dataclass
class SignInSetting:
    browser: Browser
    provider: PackagedProvider
    url: str


@contextmanager
def sign_in_setting(tmp_path: Path, shape: Shape) -> Iterator[SignInSetting]:
    with PackagedProvider(tmp_path / "idp", {shape.sub: shape.claims},
                          **shape.provider) as provider:
        node = build_node(load(agency=XA, data_dir=tmp_path / "xa", oidc_issuer=provider.issuer,
                               oidc_client_id=CLIENT, oidc_client_secret="the-client-secret",
                               oidc_ca_file=provider.ca, **shape.settings),
                          FixedClock(datetime.now(UTC).replace(microsecond=0)))
        try:
            with chromium(tmp_path / "profile", (trusted_only(provider.cert), OFFLINE)
                          ) as driver, serving(create_app(node)) as url:
                yield SignInSetting(Browser(driver, Path(SHOTS) if SHOTS else None), provider, url)
        finally:
            node.close()


def approve_at_the_provider(b: Browser, sub: str) -> None:
    """On the provider's own form: the user it was told about, with one click."""
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, f'button[name="sub"][value="{sub}"]'))
    b.find(f'button[name="sub"][value="{sub}"]').click()


def session(b: Browser, key: str) -> str | None:
    value: str | None = b.driver.execute_script(f"return sessionStorage.getItem('{key}')")
    return value


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_a_caseworker_signs_in_records_a_step_signs_out_and_in_again_after_a_key_rotation(
        tmp_path: Path, shape: Shape) -> None:
    with sign_in_setting(tmp_path, shape) as setting:
        b, provider = setting.browser, setting.provider
        tokens = provider.code_flow(CLIENT, f"{setting.url}/ui/signin/callback", shape.sub)
        opened = httpx.post(f"{setting.url}/v1/cases", json=opening(), headers={
            "Authorization": f"Bearer {tokens['access_token']}", "Idempotency-Key": "idp-1"})
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]

        # The case's page without a token: off to the provider's form, and back signed in.
        page = f"{setting.url}/ui/cases/{case_id}?lang=en"
        b.open(page)
        approve_at_the_provider(b, shape.sub)
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "details[data-step]"))
        assert b.driver.current_url == page
        access, identity = session(b, "homeward-token"), session(b, "homeward-id-token")
        assert access and identity and access != identity
        assert "kid" not in jwt.get_unverified_header(identity)  # one key, unnamed
        # Who is signed in, as the node read the token (opaque, or with mapped roles).
        assert b.text("#who") == EN["signin.as"].replace("{who}", shape.sub)
        assert json.loads(session(b, "homeward-who") or "{}") == {
            "sub": shape.sub, "agency": XA, "roles": ["caseworker"]}

        # A step recorded with the provider's access token.
        b.record_consent()
        timeline = httpx.get(f"{setting.url}/v1/cases/{case_id}/timeline",
                             headers={"Authorization": f"Bearer {access}"}).json()
        assert [(e["type"], e["actor"]) for e in timeline["events"]][-1] == (
            "ConsentRecorded", shape.sub)

        # Signing out: the provider is told whose session ends by the sign-in's ID token.
        b.find("#forget").click()
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "form button[type=submit]"))
        [ending] = provider.signouts
        assert ending["id_token_hint"] == identity and ending["client_id"] == CLIENT
        assert ending["post_logout_redirect_uri"] == page
        assert session(b, "homeward-token") is None and session(b, "homeward-id-token") is None
        b.find("form button[type=submit]").click()  # the provider's "End session"
        b.wait(lambda d: d.find_element(By.ID, "signin-error").text == EN["signin.signed-out"])
        assert b.driver.current_url == page
        violations = b.axe()
        assert violations == [], json.dumps(violations, indent=1)

        # The provider rotates its key; the next sign-in is not refused for it.
        provider.rotate()
        b.find("#signin-provider").click()
        approve_at_the_provider(b, shape.sub)
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "details[data-step]"))
        assert session(b, "homeward-token") not in (None, access)
