"""The production option: tokens verified against an identity provider's JWKS URL,
served here by a real HTTP server on a free port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.api.identity.auth import TokenVerifier, Unauthorized

ISSUER, AUDIENCE = "https://idp.xa-nrm.example/realms/homeward", "homeward-xa-nrm"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = {**json.loads(RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "idp-1", "use": "sig",
           "alg": "RS256"}
    document = json.dumps({"keys": [jwk]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


def token(key: object, algorithm: str = "RS256", **claims: object) -> str:
    now = datetime.now(UTC)
    body = {"sub": "ana", "agency": "XA-NRM", "roles": ["caseworker"], "iat": now,
            "exp": now + timedelta(hours=1), "iss": ISSUER, "aud": [AUDIENCE, "account"],
            **claims}
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": "idp-1"})  # type: ignore[arg-type]


def verifier(jwks_url: str) -> TokenVerifier:
    return TokenVerifier(jwks_url=jwks_url, agency="XA-NRM", issuer=ISSUER, audience=AUDIENCE)


def test_a_token_signed_by_the_identity_provider_verifies(jwks_url: str) -> None:
    who = verifier(jwks_url).principal(f"Bearer {token(KEY)}")
    assert (who.sub, who.agency, [r.value for r in who.roles]) == ("ana", "XA-NRM", ["caseworker"])


@pytest.mark.parametrize("forged", [
    pytest.param(lambda: token(STRANGER), id="another key"),
    pytest.param(lambda: token("a-shared-secret-of-thirty-two-bytes!", "HS256"), id="a symmetric token"),
    pytest.param(lambda: token(KEY, exp=datetime.now(UTC) - timedelta(minutes=1)), id="expired"),
    pytest.param(lambda: token(KEY, aud="another-client"), id="another audience"),
    pytest.param(lambda: token(KEY, iss="https://elsewhere.example"), id="another issuer"),
    pytest.param(lambda: token(KEY, agency="XB-NRM"), id="another agency"),
    pytest.param(lambda: token(KEY, exp=datetime.now(UTC) + timedelta(days=3650)),
                 id="ten years"),
])
def test_anything_else_is_unauthorized(jwks_url: str, forged: object) -> None:
    with pytest.raises(Unauthorized):
        verifier(jwks_url).principal(f"Bearer {forged()}")  # type: ignore[operator]


def test_a_provider_s_token_is_checked_against_its_keys_at_each_request(
        jwks_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unlike the node's own tokens, whose check is kept till they expire: the provider may
    rotate its key away before then."""
    from services.api.identity import auth

    checking = verifier(jwks_url)
    decoded: list[str] = []
    decode = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: decoded.append(a[0]) or decode(*a, **k))
    signed = f"Bearer {token(KEY)}"
    assert checking.principal(signed) == checking.principal(signed)
    assert len(decoded) == 4  # unverified and verified, at each request
