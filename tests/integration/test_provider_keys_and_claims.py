"""What the API takes from the agency's provider (the suite's own provider over TLS, whose
keys, kid and claims each test shapes): access tokens only, never an ID token; keys named or
unnamed as OpenID Connect allows; a rotated key found at once, without letting made-up key
ids hammer the provider; the agency and roles where the settings say; and sign-out with
the sign-in's ID token as the provider's hint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import build_node
from services.settings import SettingsError, load
from tests.harness.http_nodes import XA
from tests.harness.openid_provider import OpenIdProvider

API = "https://api.xa-nrm.example"


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[OpenIdProvider]:
    with OpenIdProvider(tmp_path / "idp") as idp:
        idp.redirect_uris.add("http://testserver/ui/signin/callback")
        yield idp


@contextmanager
def node_of(tmp_path: Path, provider: OpenIdProvider, **settings: Any) -> Iterator[TestClient]:
    node = build_node(load(agency=XA, data_dir=tmp_path / "xa", oidc_issuer=provider.issuer,
                           oidc_client_id=provider.client_id, oidc_ca_file=provider.ca,
                           **settings))
    try:
        with TestClient(create_app(node)) as client:
            yield client
    finally:
        node.close()


def asked(client: TestClient, token: str) -> tuple[int, str]:
    answer = client.get("/v1/cases", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.json().get("detail", "")


def id_token(provider: OpenIdProvider, **changes: Any) -> str:
    """An ID token as the provider issues it, with the user's agency and roles in it (as
    a provider that maps them into every token does)."""
    now = datetime.now(UTC)
    claims = {"iss": provider.issuer, "aud": provider.client_id, "sub": "ana.caseworker",
              "agency": XA, "roles": ["caseworker"], "nonce": "n", "iat": now,
              "exp": now + timedelta(minutes=5), **changes}
    return provider.sign({k: v for k, v in claims.items() if v is not None})


def test_an_id_token_is_refused_by_the_api_naming_why(provider: OpenIdProvider,
                                                      tmp_path: Path) -> None:
    with node_of(tmp_path, provider) as client:
        assert asked(client, provider.mint())[0] == 200
        status, detail = asked(client, id_token(provider))
        assert status == 401 and "an ID token was sent" in detail and "nonce" in detail
        # Keycloak's ID tokens say their kind in a `typ` claim, and may carry no nonce.
        status, detail = asked(client, id_token(provider, nonce=None, typ="ID"))
        assert status == 401 and "an ID token was sent" in detail and "typ" in detail
    with node_of(tmp_path / "api", provider, token_audience=API) as client:
        assert asked(client, provider.mint(aud=API))[0] == 200
        status, detail = asked(client, id_token(provider, nonce=None))
        assert status == 401 and "an ID token was sent" in detail
        assert f"audience is the client {provider.client_id!r}, not the API" in detail
        status, detail = asked(client, provider.mint(aud="another-api"))
        assert status == 401 and "HOMEWARD_TOKEN_AUDIENCE" in detail


def test_a_single_key_jwks_need_not_name_its_key_but_a_set_of_several_must(
        provider: OpenIdProvider, tmp_path: Path) -> None:
    provider.kid = None
    with node_of(tmp_path, provider) as client:
        assert asked(client, provider.mint()) == (200, "")
    provider.other_keys = 2
    with node_of(tmp_path / "several", provider) as client:
        status, detail = asked(client, provider.mint())
        assert status == 401 and "names no signing key (`kid`)" in detail
        assert "holds 3 keys" in detail


def test_a_rotated_key_is_fetched_at_once_and_made_up_key_ids_do_not_hammer_the_provider(
        provider: OpenIdProvider, tmp_path: Path) -> None:
    with node_of(tmp_path, provider) as client:
        assert asked(client, provider.mint())[0] == 200
        assert provider.jwks_fetches == 1
        provider.rotate()
        assert asked(client, provider.mint())[0] == 200  # the new kid: fetched again, at once
        assert provider.jwks_fetches == 2
        for n in range(5):
            status, detail = asked(client, provider.mint(kid=f"made-up-{n}"))
            assert status == 401 and f"no key 'made-up-{n}'" in detail
        # Within ten seconds of a fetch for an unknown key, no other is made.
        assert provider.jwks_fetches == 2


def test_a_token_that_names_no_key_and_is_signed_by_another_is_refused(
        provider: OpenIdProvider, tmp_path: Path) -> None:
    provider.kid = None
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with node_of(tmp_path, provider) as client:
        for _ in range(2):  # with the set fetched again, and then without
            status, detail = asked(client, provider.mint(key=forger))
            assert status == 401 and "signature is not by the issuer's keys" in detail
        assert provider.jwks_fetches == 2


def test_a_rotated_unnamed_key_is_fetched_again_when_a_signature_fails(
        provider: OpenIdProvider, tmp_path: Path) -> None:
    provider.kid = None
    with node_of(tmp_path, provider) as client:
        assert asked(client, provider.mint())[0] == 200
        provider.rotate(kid=None)
        assert asked(client, provider.mint())[0] == 200
        assert provider.jwks_fetches == 2


def test_roles_and_agency_are_read_where_the_settings_say(provider: OpenIdProvider,
                                                          tmp_path: Path) -> None:
    keycloak = {"realm_access": {"roles": ["nrm-supervisor"]}, "roles": None,
                "agency": None, "org": {"agency": XA}}
    token = provider.mint(**keycloak)
    with node_of(tmp_path, provider) as client:
        status, detail = asked(client, token)
        assert status == 401 and "`agency` claim" in detail
        assert "HOMEWARD_OIDC_AGENCY_CLAIM" in detail and "HOMEWARD_OIDC_AGENCY " in detail
    with node_of(tmp_path / "agency", provider, oidc_agency_claim="org.agency") as client:
        status, detail = asked(client, token)
        assert status == 401 and "`roles`" in detail and "HOMEWARD_OIDC_ROLES_CLAIM" in detail
    with node_of(tmp_path / "mapped", provider, oidc_agency_claim="org.agency",
                 oidc_roles_claim="realm_access.roles",
                 oidc_role_map="nrm-supervisor=supervisor") as client:
        assert asked(client, token)[0] == 200
        # Only what the map names grants a role: a provider role spelt as the node's does not.
        unmapped = provider.mint(**{**keycloak, "realm_access": {"roles": ["caseworker"]}})
        assert asked(client, unmapped)[0] == 403
    with node_of(tmp_path / "fixed", provider, oidc_agency=XA) as client:
        assert asked(client, provider.mint(agency=None))[0] == 200
        assert asked(client, provider.mint(agency="XB-NRM"))[0] == 200  # the claim is not read


def test_signing_out_sends_the_id_token_as_the_providers_hint(
        provider: OpenIdProvider, tmp_path: Path) -> None:
    with node_of(tmp_path, provider) as client:
        hint = id_token(provider)
        out = client.get("/ui/signout", params={"next": "/ui/board", "id_token_hint": hint},
                         follow_redirects=False)
        assert out.status_code == 303
        query = {k: v[0] for k, v in parse_qs(urlparse(out.headers["location"]).query).items()}
        assert query == {"client_id": provider.client_id, "id_token_hint": hint,
                         "post_logout_redirect_uri": "http://testserver/ui/board"}
        bad = client.get("/ui/signout", params={"id_token_hint": "<script>"},
                         follow_redirects=False)
        assert bad.status_code == 422


def test_the_claim_settings_are_checked_at_start(provider: OpenIdProvider,
                                                 tmp_path: Path) -> None:
    sso = {"agency": XA, "oidc_issuer": provider.issuer, "oidc_client_id": "c"}
    for bad, says in (({"oidc_role_map": "nrm-boss=boss"}, "HOMEWARD_OIDC_ROLE_MAP"),
                      ({"oidc_agency": "XB-NRM"}, "HOMEWARD_OIDC_AGENCY"),
                      ({"oidc_agency": XA, "oidc_agency_claim": "org"}, "exclude each other"),
                      ({"oidc_roles_claim": "realm_access..roles"}, "dotted path")):
        with pytest.raises(SettingsError, match=says):
            build_node(load(**sso, data_dir=tmp_path / "xa", **bad))
    with pytest.raises(SettingsError, match="need the provider's issuer"):
        build_node(load(agency=XA, data_dir=tmp_path / "xa",
                        oidc_roles_claim="realm_access.roles"))


def test_an_empty_variable_is_as_if_it_were_not_set(provider: OpenIdProvider,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OIDC_CA_FILE", "OIDC_ROLE_MAP", "OIDC_AGENCY", "OIDC_CLIENT_SECRET"):
        monkeypatch.setenv(f"HOMEWARD_{name}", "")
    settings = load(agency=XA, oidc_issuer=provider.issuer, oidc_client_id="c")
    assert settings.oidc_ca_file is None and settings.oidc_client_secret is None
    assert settings.oidc_agency is None and settings.oidc_role_map is None
