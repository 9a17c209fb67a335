"""Bearer tokens: what verifies, what does not, and what the claims grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from events.values import Role
from services.api.auth import TokenVerifier, Unauthorized, issue

SECRET = "a-node-secret-that-is-long-enough-for-hs256"


def bearer(**claims: object) -> str:
    base = {"sub": "ana", "agency": "XA-NRM", "roles": ["caseworker"],
            "exp": datetime.now(UTC) + timedelta(hours=1)}
    return "Bearer " + jwt.encode({**base, **claims}, SECRET)


def test_a_development_token_verifies_with_the_same_secret() -> None:
    token = issue(SECRET, "ana", "XA-NRM", ["supervisor", "caseworker"], datetime.now(UTC))
    who = TokenVerifier(secret=SECRET).principal(f"Bearer {token}")
    assert (who.sub, who.agency) == ("ana", "XA-NRM")
    assert who.roles == {Role.SUPERVISOR, Role.CASEWORKER}
    assert who.actor().is_supervisor


def test_roles_the_node_does_not_know_grant_nothing() -> None:
    who = TokenVerifier(secret=SECRET).principal(bearer(roles=["admin", "auditor"]))
    assert who.roles == {Role.AUDITOR}


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer  ", "Token abc", "Basic abc"])
def test_no_bearer_token_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized, match="bearer token is required"):
        TokenVerifier(secret=SECRET).principal(header)


def test_an_expired_token_says_so() -> None:
    with pytest.raises(Unauthorized, match="expired"):
        TokenVerifier(secret=SECRET).principal(bearer(exp=datetime.now(UTC) - timedelta(1)))


@pytest.mark.parametrize("missing", ["sub", "agency", "roles", "exp"])
def test_every_claim_is_required(missing: str) -> None:
    claims = jwt.decode(bearer()[7:], SECRET, algorithms=["HS256"])
    del claims[missing]
    with pytest.raises(Unauthorized):
        TokenVerifier(secret=SECRET).principal("Bearer " + jwt.encode(claims, SECRET))


@pytest.mark.parametrize("sub", ["", "a\x00b", "x" * 201, 7])
def test_the_sub_is_a_short_printable_string(sub: object) -> None:
    with pytest.raises(Unauthorized, match="(?i)sub"):
        TokenVerifier(secret=SECRET).principal(bearer(sub=sub))


def test_only_hs256_with_the_node_secret() -> None:
    none_alg = jwt.encode({"sub": "x", "agency": "XA-NRM", "roles": ["caseworker"],
                           "exp": datetime.now(UTC) + timedelta(hours=1)}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        TokenVerifier(secret=SECRET).principal(f"Bearer {none_alg}")
    with pytest.raises(Unauthorized):
        TokenVerifier(secret="another-secret-that-is-long-enough-too").principal(bearer())


def test_a_verifier_needs_a_secret_or_a_jwks_url() -> None:
    with pytest.raises(ValueError):
        TokenVerifier()
