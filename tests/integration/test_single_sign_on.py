"""Single sign-on for the pages: a node configured with an OpenID provider (a real one
over TLS, started here with a CA of the test's own) signs a caseworker in with the
authorization code flow and PKCE, checks the state, the nonce, the issuer and the
audience, and its API accepts the provider's tokens only when they were issued for it."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from services.api.app import create_app, create_monitor_app
from services.bootstrap import build_monitor, build_node
from services.settings import load
from tests.harness.http_nodes import XA, opening
from tests.harness.openid_provider import OpenIdProvider

CALLBACK = "http://testserver/ui/signin/callback"


@dataclass
class Signin:
    provider: OpenIdProvider
    client: TestClient

    def begin(self, next_page: str = "/ui/board") -> str:
        """Off to the provider: its authorization address."""
        response = self.client.get("/ui/signin", params={"next": next_page},
                                   follow_redirects=False)
        assert response.status_code == 303, response.text
        return response.headers["location"]

    def approve(self, authorization: str) -> dict[str, str]:
        """The provider approves its user at once: the callback's query."""
        response = httpx.get(authorization, verify=self.provider.trust(), follow_redirects=False)
        assert response.status_code == 302, response.text
        back = urlparse(response.headers["location"])
        assert back._replace(query="").geturl() == CALLBACK
        return {k: v[0] for k, v in parse_qs(back.query).items()}

    def finish(self, query: dict[str, str]) -> httpx.Response:
        return self.client.get("/ui/signin/callback", params=query)

    def token(self, next_page: str = "/ui/board") -> str:
        page = self.finish(self.approve(self.begin(next_page)))
        assert page.status_code == 200, page.text
        return handed_over(page)[0]


def handed_over(page: httpx.Response) -> tuple[str, str]:
    """The token and the next page the handover page gives the tab."""
    found = re.search(r'data-token="([^"]+)" data-next="([^"]+)"', page.text)
    assert found, page.text
    return found[1], found[2]


def node_client(tmp_path: Path, **settings: Any) -> TestClient:
    node = build_node(load(agency=XA, data_dir=tmp_path / "xa", **settings))
    return TestClient(create_app(node))


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[OpenIdProvider]:
    with OpenIdProvider(tmp_path / "idp") as idp:
        idp.redirect_uris.add(CALLBACK)
        yield idp


@pytest.fixture
def signin(tmp_path: Path, provider: OpenIdProvider) -> Iterator[Signin]:
    client = node_client(tmp_path, oidc_issuer=provider.issuer,
                         oidc_client_id=provider.client_id, oidc_ca_file=provider.ca)
    with client:
        yield Signin(provider, client)
    client.app.state.node.close()  # type: ignore[attr-defined]


def cookie_of(response: httpx.Response) -> str:
    return response.headers["set-cookie"]


def test_a_caseworker_signs_in_with_pkce_and_the_token_opens_the_api(signin: Signin) -> None:
    start = signin.client.get("/ui/signin", params={"next": "/ui/cases/new"},
                              follow_redirects=False)
    cookie = cookie_of(start).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui/signin" in cookie
    asked = {k: v[0] for k, v in parse_qs(urlparse(start.headers["location"]).query).items()}
    assert asked["code_challenge_method"] == "S256" and asked["response_type"] == "code"
    assert asked["redirect_uri"] == CALLBACK and "openid" in asked["scope"].split()
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32

    page = signin.finish(signin.approve(start.headers["location"]))
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "script-src 'sha256-" in page.headers["content-security-policy"]
    token, next_page = handed_over(page)
    assert next_page == "/ui/cases/new"
    # The code was bought with the verifier whose S256 is the challenge sent.
    [exchange] = signin.provider.token_requests
    digest = base64.urlsafe_b64encode(
        hashlib.sha256(exchange["code_verifier"].encode()).digest()).rstrip(b"=")
    assert digest.decode() == asked["code_challenge"] != exchange["code_verifier"]
    assert 'homeward-signin=""' in cookie_of(page) or "max-age=0" in cookie_of(page).lower()

    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "sso-open-1"}
    opened = signin.client.post("/v1/cases", json=opening(), headers=headers)
    assert opened.status_code == 201, opened.text
    timeline = signin.client.get(f"/v1/cases/{opened.json()['id']}/timeline", headers=headers)
    assert timeline.json()["events"][0]["actor"] == "ana.caseworker"


def pending(signin: Signin) -> dict[str, str]:
    value = signin.client.cookies["homeward-signin"]
    found: dict[str, str] = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    return found


def replace_pending(signin: Signin, **changes: str) -> None:
    value = base64.urlsafe_b64encode(json.dumps({**pending(signin), **changes}).encode())
    signin.client.cookies.clear()
    signin.client.cookies.set("homeward-signin", value.decode().rstrip("="))


def refused(page: httpx.Response, status: int, says: str) -> None:
    assert page.status_code == status, page.text
    assert page.headers["content-type"] == "application/problem+json"
    assert says in page.json()["detail"] and "data-token" not in page.text


def test_a_wrong_pkce_verifier_is_refused(signin: Signin) -> None:
    query = signin.approve(signin.begin())
    # At the provider: the code does not go with another verifier.
    wrong = httpx.post(f"{signin.provider.issuer}/token", verify=signin.provider.trust(), data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": CALLBACK,
        "client_id": signin.provider.client_id, "code_verifier": "x" * 64})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    # Through the node: a sign-in whose verifier was swapped after it began buys nothing.
    authorization = signin.begin()
    replace_pending(signin, verifier="y" * 64)
    refused(signin.finish(signin.approve(authorization)), 401, "invalid_grant")


def test_a_callback_with_another_state_is_refused_before_the_code_is_used(
        signin: Signin) -> None:
    query = signin.approve(signin.begin())
    refused(signin.finish({**query, "state": "a-state-this-browser-never-sent"}), 400,
            "state is not the one this browser started")
    assert signin.provider.token_requests == []
    assert signin.client.get("/ui/signin/callback", params={"code": query["code"]}
                             ).status_code == 400  # no state at all


def test_a_callback_no_sign_in_started_in_this_browser_is_refused(signin: Signin) -> None:
    query = signin.approve(signin.begin())
    signin.client.cookies.clear()  # another browser: the login-CSRF case
    refused(signin.finish(query), 400, "no sign-in was started in this browser")
    assert signin.provider.token_requests == []


def test_the_id_token_must_carry_the_nonce_of_this_sign_in(signin: Signin) -> None:
    signin.provider.id_token_changes = {"nonce": "a-nonce-from-another-sign-in"}
    refused(signin.finish(signin.approve(signin.begin())), 401, "nonce")
    signin.provider.id_token_changes = {"nonce": None}
    refused(signin.finish(signin.approve(signin.begin())), 401, "nonce")


@pytest.mark.parametrize("changes, says", [
    ({"iss": "https://another-provider.example"}, "ID token does not verify"),
    ({"aud": "another-client"}, "ID token does not verify"),
    ({"aud": ["another-client", "homeward-xa-nrm"], "azp": "another-client"}, "azp"),
])
def test_an_id_token_from_another_issuer_or_for_another_client_is_refused(
        signin: Signin, changes: dict[str, object], says: str) -> None:
    signin.provider.id_token_changes = changes
    refused(signin.finish(signin.approve(signin.begin())), 401, says)


@pytest.mark.parametrize("changes", [
    pytest.param({"iss": "https://another-provider.example"}, id="another issuer"),
    pytest.param({"aud": "another-client"}, id="another audience"),
    pytest.param({"agency": "XB-NRM"}, id="another agency"),
])
def test_a_provider_token_not_issued_for_this_node_is_refused(
        signin: Signin, changes: dict[str, str]) -> None:
    # At the API, whoever holds it...
    assert signin.client.get("/v1/cases", headers={
        "Authorization": f"Bearer {signin.provider.mint(**changes)}"}).status_code == 401
    assert signin.client.get("/v1/cases", headers={
        "Authorization": f"Bearer {signin.provider.mint()}"}).status_code == 200
    # ...and at the end of a sign-in, which then hands no token to the page.
    signin.provider.access_token_changes = changes
    refused(signin.finish(signin.approve(signin.begin())), 401,
            "this node does not accept the token")


def test_a_token_with_the_providers_key_id_but_another_key_is_refused(signin: Signin) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert signin.client.get("/v1/cases", headers={
        "Authorization": f"Bearer {signin.provider.mint(key=forger)}"}).status_code == 401


def test_a_confidential_client_authenticates_with_its_secret(
        provider: OpenIdProvider, tmp_path: Path) -> None:
    provider.client_secret = "a-client-secret-the-provider-issued"
    for secret, status in (("a-client-secret-the-provider-issued", 200), ("a-wrong-one", 401)):
        with node_client(tmp_path / secret, oidc_issuer=provider.issuer,
                         oidc_client_id=provider.client_id, oidc_ca_file=provider.ca,
                         oidc_client_secret=secret) as client:
            flow = Signin(provider, client)
            page = flow.finish(flow.approve(flow.begin()))
            assert page.status_code == status, page.text
            if status == 401:
                assert "invalid_client" in page.json()["detail"]
            client.app.state.node.close()  # type: ignore[attr-defined]


def test_a_sign_in_the_provider_refused_is_a_401(signin: Signin) -> None:
    signin.begin()
    state = pending(signin)["state"]
    refused(signin.finish({"error": "access_denied", "state": state}), 401, "access_denied")


def test_the_page_to_return_to_is_one_of_this_node(signin: Signin) -> None:
    for elsewhere in ("https://elsewhere.example/", "//elsewhere.example/ui/board", "/v1/cases",
                      "/ui/../v1/cases", "/ui/signout", "/ui/signin/callback?code=x"):
        signin.begin(elsewhere)
        assert pending(signin)["next"] == "/ui/board"
    page = signin.finish(signin.approve(signin.begin("/ui/board?lang=fr")))
    assert handed_over(page)[1] == "/ui/board?lang=fr"


def test_signing_out_ends_the_session_at_the_provider(signin: Signin) -> None:
    out = signin.client.get("/ui/signout", params={"next": "/ui/cases/new"},
                            follow_redirects=False)
    assert out.status_code == 303
    ending = urlparse(out.headers["location"])
    asked = {k: v[0] for k, v in parse_qs(ending.query).items()}
    assert ending._replace(query="").geturl() == f"{signin.provider.issuer}/logout"
    assert asked == {"client_id": signin.provider.client_id,
                     "post_logout_redirect_uri": "http://testserver/ui/cases/new"}
    back = httpx.get(out.headers["location"], verify=signin.provider.trust())
    assert back.status_code == 302 and back.headers["location"] == "http://testserver/ui/cases/new"
    assert len(signin.provider.signouts) == 1


def test_the_pages_sign_in_through_the_provider_and_offer_no_token_field(
        signin: Signin, tmp_path: Path) -> None:
    board = signin.client.get("/ui/board").text
    assert 'data-signin="oidc"' in board and 'id="signin-provider"' in board
    assert 'id="token"' not in board
    with node_client(tmp_path / "plain") as plain:  # development: a token is pasted
        page = plain.get("/ui/board").text
        assert 'data-signin="token"' in page and 'id="token"' in page
        assert plain.get("/ui/signin", follow_redirects=False).status_code == 404
        plain.app.state.node.close()  # type: ignore[attr-defined]


def test_a_provider_the_node_cannot_trust_or_whose_discovery_lies_is_a_502(
        provider: OpenIdProvider, signin: Signin, tmp_path: Path) -> None:
    with node_client(tmp_path / "untrusting", oidc_issuer=provider.issuer,
                     oidc_client_id=provider.client_id) as untrusting:  # no CA given
        answer = untrusting.get("/ui/signin", follow_redirects=False)
        assert answer.status_code == 502 and "CERTIFICATE_VERIFY_FAILED" in answer.json()["detail"]
        untrusting.app.state.node.close()  # type: ignore[attr-defined]
    provider.discovery_changes = {"issuer": "https://another-provider.example"}
    answer = signin.client.get("/ui/signin", follow_redirects=False)
    assert answer.status_code == 502 and "names the issuer" in answer.json()["detail"]
    provider.discovery_changes = {}
    provider.discovery_moved_to = "http://127.0.0.1:9/.well-known/openid-configuration"
    answer = signin.client.get("/ui/signin", follow_redirects=False)
    assert answer.status_code == 502 and "away from https" in answer.json()["detail"]


def test_the_monitor_signs_in_through_its_provider_too(
        provider: OpenIdProvider, tmp_path: Path) -> None:
    provider.user = {**provider.user, "agency": "monitor", "roles": ["monitor"]}
    monitor = build_monitor(load(agency="monitor", data_dir=tmp_path / "monitor",
                                 oidc_issuer=provider.issuer, oidc_client_id=provider.client_id,
                                 oidc_ca_file=provider.ca))
    with TestClient(create_monitor_app(monitor)) as client:
        assert 'data-signin="oidc"' in client.get("/ui/corridors").text
        token = Signin(provider, client).token("/ui/corridors")
        answer = client.get("/v1/monitor/corridors", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text


def test_the_sign_in_cookie_is_secure_when_the_callback_is_https(
        provider: OpenIdProvider, tmp_path: Path) -> None:
    callback = "https://xa-nrm.example/ui/signin/callback"  # behind a proxy that ends TLS
    with node_client(tmp_path / "proxied", oidc_issuer=provider.issuer,
                     oidc_client_id=provider.client_id, oidc_ca_file=provider.ca,
                     oidc_redirect_url=callback) as client:
        start = client.get("/ui/signin", follow_redirects=False)
        assert "secure" in cookie_of(start).lower().split("; ")
        assert parse_qs(urlparse(start.headers["location"]).query)["redirect_uri"] == [callback]
        client.app.state.node.close()  # type: ignore[attr-defined]


def test_a_browser_is_told_in_its_language_why_the_sign_in_failed(signin: Signin) -> None:
    query = signin.approve(signin.begin("/ui/cases/new"))
    page = signin.client.get("/ui/signin/callback", params={**query, "state": "forged"},
                             headers={"Accept": "text/html", "Accept-Language": "fr"})
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "La connexion n&#x27;a pas abouti" in page.text or "La connexion n'a pas abouti" in page.text
    assert "state is not the one this browser started" in page.text
    assert 'href="/ui/signin?next=%2Fui%2Fcases%2Fnew"' in page.text  # to sign in again
    assert "data-token" not in page.text and signin.provider.token_requests == []
    assert "style-src 'sha256-" in page.headers["content-security-policy"]
