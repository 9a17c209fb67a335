"""Single sign-on against an independent OpenID provider (the `oidc-provider-mock` package,
built on Authlib, over TLS with a CA the test makes), in its default shape and in the
shapes of Keycloak and Microsoft Entra ID: opaque access tokens checked by introspection
or at the userinfo endpoint, JWT access tokens whose roles and agency are where those
providers put them, ID tokens whose header names no key, and a key rotation."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import build_node
from services.settings import load
from tests.harness.http_nodes import XA, opening
from tests.harness.packaged_provider import PackagedProvider
from tests.harness.provider_shapes import (
    ANA,
    CALLBACK,
    CLIENT,
    ENTRA,
    ENTRA_SETTINGS,
    KEYCLOAK,
    KEYCLOAK_SETTINGS,
)


@contextmanager
def node_of(tmp_path: Path, provider: PackagedProvider, **settings: Any
            ) -> Iterator[TestClient]:
    node = build_node(load(agency=XA, data_dir=tmp_path / "xa", oidc_issuer=provider.issuer,
                           oidc_client_id=CLIENT, oidc_client_secret="the-client-secret",
                           oidc_ca_file=provider.ca, **settings))
    try:
        with TestClient(create_app(node)) as client:
            yield client
    finally:
        node.close()


def sign_in(client: TestClient, provider: PackagedProvider, sub: str = "ana"
            ) -> httpx.Response:
    """The browser's trip: to the provider, whose form approves `sub`, and back."""
    start = client.get("/ui/signin", params={"next": "/ui/board"}, follow_redirects=False)
    assert start.status_code == 303, start.text
    approved = httpx.post(start.headers["location"], data={"sub": sub}, verify=provider.trust(),
                          follow_redirects=False)
    assert approved.status_code == 302, approved.text
    back = urlparse(approved.headers["location"])
    assert back._replace(query="").geturl() == CALLBACK
    return client.get("/ui/signin/callback", params={
        k: v[0] for k, v in parse_qs(back.query).items()})


def handed(page: httpx.Response) -> tuple[str, str]:
    """The access token and the ID token the handover page gives the tab."""
    assert page.status_code == 200, page.text
    access = page.text.split('data-token="')[1].split('"')[0]
    identity = page.text.split('data-id-token="')[1].split('"')[0]
    return access, identity


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    return {**headers, "Idempotency-Key": key} if key else headers


def test_opaque_tokens_are_introspected_once_and_an_inactive_one_is_refused(
        tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": ANA}, introspection=True) as provider, \
            node_of(tmp_path, provider) as client:
        access, _ = handed(sign_in(client, provider))
        assert access.count(".") == 0  # opaque, as the provider issues them by default
        [asked] = provider.introspections
        assert asked["token"] == access and asked["token_type_hint"] == "access_token"
        opened = client.post("/v1/cases", json=opening(), headers=bearer(access, "opaque-1"))
        assert opened.status_code == 201, opened.text
        assert client.get("/v1/cases", headers=bearer(access)).status_code == 200
        assert len(provider.introspections) == 1  # the answer was kept

        revoked = provider.code_flow(CLIENT, CALLBACK, "ana")["access_token"]
        provider.revoke("ana")
        answer = client.get("/v1/cases", headers=bearer(revoked))
        assert answer.status_code == 401 and "inactive" in answer.json()["detail"]
        asked_before = len(provider.introspections)
        for _ in range(3):
            made_up = client.get("/v1/cases", headers=bearer("an-opaque-token-never-issued"))
            assert made_up.status_code == 401 and "inactive" in made_up.json()["detail"]
        assert len(provider.introspections) == asked_before + 1  # the refusal was kept


def test_without_introspection_opaque_tokens_are_checked_at_the_userinfo_endpoint(
        tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": ANA}) as provider, \
            node_of(tmp_path, provider) as client:
        access, _ = handed(sign_in(client, provider))
        assert provider.userinfos == 1 and provider.introspections == []
        for _ in range(3):
            assert client.get("/v1/cases", headers=bearer(access)).status_code == 200
        assert provider.userinfos == 1
        refused = client.get("/v1/cases", headers=bearer("an-opaque-token-never-issued"))
        assert refused.status_code == 401 and "userinfo" in refused.json()["detail"]


def test_an_id_token_sent_to_the_api_is_refused_naming_the_cause(tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": ANA}) as provider, \
            node_of(tmp_path, provider) as client:
        access, identity = handed(sign_in(client, provider))
        # The provider puts the user's agency and roles in its ID tokens too.
        answer = client.get("/v1/cases", headers=bearer(identity))
        assert answer.status_code == 401
        assert "an ID token was sent" in answer.json()["detail"]
        assert "nonce" in answer.json()["detail"]
        assert client.get("/v1/cases", headers=bearer(access)).status_code == 200


def test_keycloak_shaped_tokens_sign_in_through_the_claim_settings(tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": KEYCLOAK},
                          jwt_access_tokens_for="homeward-api") as provider:
        with node_of(tmp_path / "plain", provider, token_audience="homeward-api") as plain:
            refused = sign_in(plain, provider)  # top-level agency and roles: none here
            assert refused.status_code == 401
            assert "HOMEWARD_OIDC_AGENCY_CLAIM" in refused.json()["detail"]
        with node_of(tmp_path, provider, **KEYCLOAK_SETTINGS) as client:
            page = sign_in(client, provider)
            access, identity = handed(page)
            # The page is told who the node found the token to be, roles mapped.
            assert html.unescape(page.text.split('data-who="')[1].split('"')[0]) == json.dumps(
                {"sub": "ana", "agency": XA, "roles": ["caseworker"]})
            opened = client.post("/v1/cases", json=opening(), headers=bearer(access, "kc-1"))
            assert opened.status_code == 201, opened.text
            timeline = client.get(f"/v1/cases/{opened.json()['id']}/timeline",
                                  headers=bearer(access)).json()
            assert timeline["events"][0]["actor"] == "ana"
            # Its ID token's audience is the client, not the API.
            answer = client.get("/v1/cases", headers=bearer(identity))
            assert answer.status_code == 401 and "ID token" in answer.json()["detail"]


def test_entra_shaped_tokens_sign_in_with_a_fixed_agency_and_mapped_app_roles(
        tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana@xa.example": ENTRA},
                          jwt_access_tokens_for="api://homeward-xa-nrm") as provider, \
            node_of(tmp_path, provider, **ENTRA_SETTINGS) as client:
        access, _ = handed(sign_in(client, provider, "ana@xa.example"))
        opened = client.post("/v1/cases", json=opening(), headers=bearer(access, "entra-1"))
        assert opened.status_code == 201, opened.text


def test_after_the_provider_rotates_its_key_the_next_sign_in_succeeds_at_once(
        tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": KEYCLOAK},
                          jwt_access_tokens_for="homeward-api") as provider, \
            node_of(tmp_path, provider, **KEYCLOAK_SETTINGS) as client:
        handed(sign_in(client, provider))
        provider.rotate()
        access, _ = handed(sign_in(client, provider))  # ID token without kid; access with
        assert client.get("/v1/cases", headers=bearer(access)).status_code == 200
