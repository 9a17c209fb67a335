"""What the node keeps of the provider's answers about opaque access tokens: an answer
serves again for at most five minutes and never past the token's own expiry; a provider
that cannot be asked makes the call a 503, not a sign-out. Against the independent provider
(oidc-provider-mock over TLS), with the node's clock moved on by the test."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.identity.claims import TokenCheckUnavailable, Unauthorized
from services.api.identity.opaque import KEEP_AT_MOST, OpaqueTokens
from services.api.web.oidc import Provider
from services.bootstrap import build_node
from services.settings import load
from tests.harness.http_nodes import XA
from tests.harness.packaged_provider import PackagedProvider
from tests.harness.provider_shapes import ANA, CALLBACK, CLIENT


class Clock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def opaque_tokens(provider: PackagedProvider, clock: Clock) -> OpaqueTokens:
    settings = load(agency=XA, oidc_issuer=provider.issuer, oidc_client_id=CLIENT,
                    oidc_client_secret="the-client-secret", oidc_ca_file=provider.ca)
    return OpaqueTokens(Provider(settings), clock=clock)


@pytest.mark.parametrize("introspection", [True, False], ids=["introspection", "userinfo"])
def test_an_answer_is_kept_at_most_five_minutes(tmp_path: Path, introspection: bool) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": ANA},
                          introspection=introspection) as provider:
        clock = Clock()
        tokens = opaque_tokens(provider, clock)
        token = provider.code_flow(CLIENT, CALLBACK, "ana")["access_token"]
        assert tokens.claims(token)["roles"] == ["caseworker"]
        clock.now += KEEP_AT_MOST - 1
        tokens.claims(token)
        assert tokens.asked == 1
        clock.now += 2
        tokens.claims(token)
        assert tokens.asked == 2


def test_an_answer_is_not_kept_past_the_tokens_expiry(tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": ANA}, introspection=True,
                          token_lifetime=timedelta(seconds=60)) as provider:
        clock = Clock()
        tokens = opaque_tokens(provider, clock)
        token = provider.code_flow(CLIENT, CALLBACK, "ana")["access_token"]
        tokens.claims(token)
        clock.now += 30
        tokens.claims(token)
        assert tokens.asked == 1
        clock.now += 31  # past its exp: asked again, and refused as expired
        with pytest.raises(Unauthorized, match="expired"):
            tokens.claims(token)
        assert tokens.asked == 2


def test_a_provider_that_cannot_be_asked_is_unavailable_not_a_refusal(tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": ANA}, introspection=True) as provider:
        tokens = opaque_tokens(provider, Clock())
        token = provider.code_flow(CLIENT, CALLBACK, "ana")["access_token"]
        tokens.provider.discovery()
    with pytest.raises(TokenCheckUnavailable, match="cannot be checked now") as raised:
        tokens.claims(token)
    assert raised.value.status == 503


def test_the_api_answers_503_while_the_provider_cannot_be_asked(tmp_path: Path) -> None:
    with PackagedProvider(tmp_path / "idp", {"ana": ANA}, introspection=True) as provider:
        token = provider.code_flow(CLIENT, CALLBACK, "ana")["access_token"]
    node = build_node(load(agency=XA, data_dir=tmp_path / "xa", oidc_issuer=provider.issuer,
                           oidc_client_id=CLIENT, oidc_client_secret="the-client-secret",
                           oidc_ca_file=provider.ca))
    try:
        with TestClient(create_app(node)) as client:
            answer = client.get("/v1/cases", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 503, answer.text
            assert "cannot be checked now" in answer.json()["detail"]
            assert "www-authenticate" not in answer.headers  # not a sign-out
    finally:
        node.close()
