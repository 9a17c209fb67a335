"""A minimal OpenID provider for tests, over TLS with a certificate from a CA the test
makes: discovery, an authorization endpoint that approves one configured user at once,
a token endpoint that checks the PKCE verifier (S256) and the redirect address, a JWKS
with an RSA key, and an end of session. Tokens are signed with PyJWT.

Knobs for the refusals the node must make: `id_token_changes` and `access_token_changes`
alter what the next tokens claim (another nonce, issuer or audience), `discovery_changes`
what the discovery document says; `kid=None` leaves the key unnamed in the JWKS and the
tokens, `other_keys` publishes more keys beside it, `rotate()` swaps the key."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.harness.certificates import make_tls

KID = "test-provider-1"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str


@dataclass
class OpenIdProvider:
    where: Path
    client_id: str = "homeward-xa-nrm"
    client_secret: str | None = None
    user: dict[str, Any] = field(default_factory=lambda: {
        "sub": "ana.caseworker", "agency": "XA-NRM", "roles": ["caseworker"],
        "name": "Ana Caseworker"})
    redirect_uris: set[str] = field(default_factory=set)
    id_token_changes: dict[str, Any] = field(default_factory=dict)
    access_token_changes: dict[str, Any] = field(default_factory=dict)
    discovery_changes: dict[str, Any] = field(default_factory=dict)
    discovery_moved_to: str | None = None  # the discovery document answers 302 to this
    kid: str | None = KID
    other_keys: int = 0  # keys published beside the signing key
    # What happened, for the tests to read.
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    signouts: list[dict[str, str]] = field(default_factory=list)
    jwks_fetches: int = 0

    def __post_init__(self) -> None:
        self.where.mkdir(parents=True, exist_ok=True)
        self.ca, self.cert, cert_key = make_tls(self.where, "provider")
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, Grant] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, cert_key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.issuer = f"https://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OpenIdProvider:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def trust(self) -> ssl.SSLContext:
        """A client's TLS context that trusts this provider's CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca))

    # -- what it publishes and signs --------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                **self.discovery_changes}

    def jwks(self) -> dict[str, Any]:
        self.jwks_fetches += 1
        keys = [self.key] + [rsa.generate_private_key(public_exponent=65537, key_size=2048)
                             for _ in range(self.other_keys)]
        named = [self.kid] + [f"another-{n}" for n in range(self.other_keys)]
        return {"keys": [{**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "use": "sig",
                          "alg": "RS256", **({"kid": kid} if kid else {})}
                         for key, kid in zip(keys, named, strict=True)]}

    def rotate(self, kid: str | None = "test-provider-2") -> None:
        """A new signing key (named `kid`), the only one published from now on."""
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid

    def sign(self, claims: dict[str, Any], typ: str = "JWT", key: Any = None,
             kid: str | None = None) -> str:
        headers = {"typ": typ, **({"kid": kid or self.kid} if kid or self.kid else {})}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers=headers)

    def mint(self, key: Any = None, kid: str | None = None, **changes: Any) -> str:
        """An access token as the provider issues it (RFC 9068), for calling the API (signed
        with `key` instead, to forge one)."""
        now = datetime.now(UTC)
        claims = {"iss": self.issuer, "aud": self.client_id, "client_id": self.client_id,
                  "sub": self.user["sub"], "agency": self.user["agency"],
                  "roles": self.user["roles"], "iat": now, "exp": now + timedelta(minutes=30),
                  "jti": secrets.token_hex(8), **changes}
        return self.sign(claims, typ="at+jwt", key=key, kid=kid)

    def id_token(self, nonce: str) -> str:
        now = datetime.now(UTC)
        return self.sign({"iss": self.issuer, "aud": self.client_id, "sub": self.user["sub"],
                          "name": self.user["name"], "nonce": nonce, "iat": now,
                          "exp": now + timedelta(minutes=5), **self.id_token_changes})

    # -- the endpoints ------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.authorizations.append(query)
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or redirect not in self.redirect_uris:
            return 400, {}, {"error": "invalid_request", "why": "unknown client or redirect"}
        if (query.get("response_type") != "code" or query.get("code_challenge_method") != "S256"
                or not query.get("code_challenge") or "openid" not in query.get("scope", "")):
            return 400, {}, {"error": "invalid_request", "why": "code flow with S256 only"}
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(self.client_id, redirect, query["code_challenge"],
                                 query.get("nonce", ""))
        back = redirect + "?" + urlencode({"code": code, "state": query.get("state", "")})
        return 302, {"Location": back}, None

    def token(self, form: dict[str, str], authorization: str | None
              ) -> tuple[int, dict[str, str], Any]:
        self.token_requests.append(form)
        if self.client_secret is not None:
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode())
            if authorization != "Basic " + expected.decode():
                return 401, {}, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code is used once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {}, {"error": "invalid_grant"}
        if form.get("client_id") != grant.client_id or form.get("redirect_uri") != grant.redirect_uri:
            return 400, {}, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "").encode()
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if not secrets.compare_digest(computed, grant.challenge.encode()):
            return 400, {}, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        return 200, {}, {"token_type": "Bearer", "expires_in": 1800,
                         "id_token": self.id_token(grant.nonce),
                         "access_token": self.mint(**self.access_token_changes)}

    def logout(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        back = query.get("post_logout_redirect_uri", "")
        origins = {urlparse(uri)._replace(path="", query="").geturl() for uri in self.redirect_uris}
        if (query.get("client_id") != self.client_id
                or urlparse(back)._replace(path="", query="").geturl() not in origins):
            return 400, {}, {"error": "invalid_request"}
        self.signouts.append(query)
        return 302, {"Location": back}, None


def _handler(provider: OpenIdProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            moved = provider.discovery_moved_to
            routes = {"/.well-known/openid-configuration": lambda: (
                          (302, {"Location": moved}, None) if moved
                          else (200, {}, provider.discovery())),
                      "/jwks": lambda: (200, {}, provider.jwks()),
                      "/authorize": lambda: provider.authorize(query),
                      "/logout": lambda: provider.logout(query)}
            self._answer(*routes.get(parts.path, lambda: (404, {}, {"error": "not_found"}))())

        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(size).decode()).items()}
            if urlparse(self.path).path != "/token":
                return self._answer(404, {}, {"error": "not_found"})
            self._answer(*provider.token(form, self.headers.get("Authorization")))

        def _answer(self, status: int, headers: dict[str, str], body: Any) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
