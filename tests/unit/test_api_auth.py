"""Bearer tokens: what verifies, what does not, and what the claims grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from events.values import Role
from services.api.identity.auth import TokenVerifier, Unauthorized, issue

SECRET = "a-node-secret-that-is-long-enough-for-hs256"


def bearer(**claims: object) -> str:
    now = datetime.now(UTC)
    base = {"sub": "ana", "agency": "XA-NRM", "roles": ["caseworker"], "iss": "XA-NRM",
            "aud": "XA-NRM", "iat": now, "exp": now + timedelta(hours=1)}
    return "Bearer " + jwt.encode({**base, **claims}, SECRET)


def test_a_development_token_verifies_with_the_same_secret() -> None:
    token = issue(SECRET, "ana", "XA-NRM", ["supervisor", "caseworker"], datetime.now(UTC))
    who = TokenVerifier(secret=SECRET, agency="XA-NRM").principal(f"Bearer {token}")
    assert (who.sub, who.agency) == ("ana", "XA-NRM")
    assert who.roles == {Role.SUPERVISOR, Role.CASEWORKER}
    assert who.actor().is_supervisor


def test_roles_the_node_does_not_know_grant_nothing() -> None:
    who = TokenVerifier(secret=SECRET, agency="XA-NRM").principal(bearer(roles=["admin", "auditor"]))
    assert who.roles == {Role.AUDITOR}


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer  ", "Token abc", "Basic abc"])
def test_no_bearer_token_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized, match="bearer token is required"):
        TokenVerifier(secret=SECRET, agency="XA-NRM").principal(header)


def test_an_expired_token_says_so() -> None:
    with pytest.raises(Unauthorized, match="expired"):
        TokenVerifier(secret=SECRET, agency="XA-NRM").principal(bearer(exp=datetime.now(UTC) - timedelta(1)))


@pytest.mark.parametrize("missing", ["sub", "agency", "roles", "exp", "iat", "iss", "aud"])
def test_every_claim_is_required(missing: str) -> None:
    claims = jwt.decode(bearer()[7:], SECRET, algorithms=["HS256"], audience="XA-NRM")
    del claims[missing]
    with pytest.raises(Unauthorized):
        TokenVerifier(secret=SECRET, agency="XA-NRM").principal("Bearer " + jwt.encode(claims, SECRET))


@pytest.mark.parametrize("sub", ["", "a\x00b", "x" * 201, 7])
def test_the_sub_is_a_short_printable_string(sub: object) -> None:
    with pytest.raises(Unauthorized, match="(?i)sub"):
        TokenVerifier(secret=SECRET, agency="XA-NRM").principal(bearer(sub=sub))


def test_only_hs256_with_the_node_secret() -> None:
    claims = jwt.decode(bearer()[7:], SECRET, algorithms=["HS256"], audience="XA-NRM")
    none_alg = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(Unauthorized):
        TokenVerifier(secret=SECRET, agency="XA-NRM").principal(f"Bearer {none_alg}")
    with pytest.raises(Unauthorized):
        TokenVerifier(secret="another-secret-that-is-long-enough-too", agency="XA-NRM").principal(bearer())


def test_a_verifier_needs_a_secret_or_a_jwks_url() -> None:
    with pytest.raises(ValueError):
        TokenVerifier(agency="XA-NRM")


# The identity findings: a token is accepted only when issued for this node.

def test_a_token_for_another_agency_is_refused_though_signed_with_this_secret() -> None:
    forged = issue(SECRET, "ana", "XB-NRM", ["supervisor"], datetime.now(UTC),
                   issuer="XA-NRM", audience="XA-NRM")  # even with this node's iss and aud
    with pytest.raises(Unauthorized, match="for XB-NRM; this node serves XA-NRM"):
        TokenVerifier(secret=SECRET, agency="XA-NRM").principal(f"Bearer {forged}")


def test_the_monitor_accepts_only_monitor_tokens() -> None:
    monitor = TokenVerifier(secret=SECRET, agency="monitor")
    assert monitor.principal(bearer(agency="monitor", iss="monitor", aud="monitor")).agency == \
        "monitor"
    with pytest.raises(Unauthorized, match="for XA-NRM"):
        monitor.principal(bearer(roles=["monitor"], iss="monitor", aud="monitor"))


@pytest.mark.parametrize("claims, reason", [
    ({"aud": "XB-NRM"}, "not for this node"),
    ({"aud": ["XB-NRM", "monitor"]}, "not for this node"),
    ({"iss": "XB-NRM"}, "issuer"),
    ({"iss": "https://idp.example"}, "issuer"),
])
def test_the_issuer_and_audience_must_be_the_nodes(claims: dict[str, object], reason: str) -> None:
    with pytest.raises(Unauthorized, match=reason):
        TokenVerifier(secret=SECRET, agency="XA-NRM").principal(bearer(**claims))


def test_a_configured_issuer_and_audience_replace_the_agency_code() -> None:
    verifier = TokenVerifier(secret=SECRET, agency="XA-NRM", issuer="https://idp.xa.example",
                             audience="homeward-xa")
    who = verifier.principal(bearer(iss="https://idp.xa.example", aud=["homeward-xa", "mail"]))
    assert who.agency == "XA-NRM"
    with pytest.raises(Unauthorized):
        verifier.principal(bearer())  # iss and aud are the agency code: not this node's


def test_a_ten_year_token_is_refused() -> None:
    now = datetime.now(UTC)
    for claims in ({"exp": now + timedelta(days=3650)},  # honest iat, far exp
                   {"iat": now - timedelta(hours=1), "exp": now + timedelta(hours=12)},
                   {"iat": now + timedelta(days=3649), "exp": now + timedelta(days=3650)}):
        with pytest.raises(Unauthorized):
            TokenVerifier(secret=SECRET, agency="XA-NRM").principal(bearer(**claims))
    token = issue(SECRET, "ana", "XA-NRM", ["caseworker"], now, hours=12)
    assert TokenVerifier(secret=SECRET, agency="XA-NRM").principal(f"Bearer {token}")
    shorter = TokenVerifier(secret=SECRET, agency="XA-NRM", max_lifetime=timedelta(hours=1))
    with pytest.raises(Unauthorized, match="longer than this node allows"):
        shorter.principal(f"Bearer {token}")


@pytest.mark.parametrize("secret", ["x", "s" * 31, "é" * 15])
def test_a_short_secret_does_not_make_a_verifier(secret: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenVerifier(secret=secret, agency="XA-NRM")


def test_a_verifier_takes_a_secret_or_a_jwks_url_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        TokenVerifier(secret=SECRET, jwks_url="https://idp.example/jwks", agency="XA-NRM")


def test_an_offline_check_runs_where_it_is_awaited_a_provider_check_in_the_pool() -> None:
    """The node's own secret needs nothing but CPU: checked in place, no hop to the thread
    pool; a provider's keys may be fetched, so that check waits in the pool's thread."""
    import asyncio
    import threading

    from services.api.identity.jwks import SigningKeys

    seen: list[str] = []

    def fetch() -> dict[str, object]:
        seen.append(threading.current_thread().name)
        return {"keys": []}

    async def both() -> tuple[str, str]:
        local = TokenVerifier(secret=SECRET, agency="XA-NRM")
        who = await local.principal_of(bearer())
        provider = TokenVerifier(keys=SigningKeys(fetch), agency="XA-NRM")
        with pytest.raises(Unauthorized):
            await provider.principal_of(bearer())
        return who.sub, threading.current_thread().name

    sub, loop_thread = asyncio.run(both())
    assert sub == "ana"
    assert TokenVerifier(secret=SECRET, agency="XA-NRM").offline
    assert not TokenVerifier(keys=SigningKeys(fetch), agency="XA-NRM").offline
    assert seen and all(name != loop_thread for name in seen)


def test_a_token_of_the_node_s_secret_is_checked_once_until_it_expires(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from services.api.identity import auth

    verifier = TokenVerifier(secret=SECRET, agency="XA-NRM")
    decoded: list[str] = []
    decode = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: decoded.append(a[0]) or decode(*a, **k))
    token = bearer(exp=datetime.now(UTC) + timedelta(minutes=5))
    first, again = verifier.principal(token), verifier.principal(token)
    assert first == again and first.sub == "ana"
    assert len(decoded) == 2  # once unverified (an ID token?), once verified; not again
    later = datetime.now(UTC) + timedelta(minutes=5) + auth.LEEWAY + timedelta(seconds=1)
    monkeypatch.setattr(auth, "now_seconds", later.timestamp)
    with pytest.raises(Unauthorized, match="expired"):
        verifier.principal(token)


def test_a_refused_token_is_checked_again_each_time() -> None:
    verifier = TokenVerifier(secret=SECRET, agency="XA-NRM")
    other = bearer(agency="XB-NRM")
    for _ in range(2):
        with pytest.raises(Unauthorized, match="XB-NRM"):
            verifier.principal(other)
    assert other.removeprefix("Bearer ") not in verifier._checked
