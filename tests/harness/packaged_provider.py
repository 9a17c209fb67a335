"""An independent OpenID provider for tests: the `oidc-provider-mock` package from PyPI (a
Flask app built on Authlib), served over TLS with a certificate from a CA the test makes,
as an agency's provider would be reached. Its defaults are kept: opaque access tokens, a
JWKS of one key its tokens do not name (no `kid`), claims of the users it is told about
in its ID tokens and at its userinfo endpoint, an end of session with a confirmation form.

What the package lacks is added with Authlib's own parts, not written here:
- `introspection=True`: an introspection endpoint (Authlib's RFC 7662 `IntrospectionEndpoint`)
  listed in the discovery document; without it the node has the userinfo endpoint only;
- `jwt_access_tokens_for=<audience>`: access tokens as JWTs (Authlib's RFC 9068
  `JWTBearerTokenGenerator`) carrying the user's claims, as Keycloak and Entra ID issue;
- `rotate()`: a new signing key in place of the old one, as a provider's key rotation.
What it was asked is recorded for the tests (`introspections`, `userinfos`, `signouts`).
"""

from __future__ import annotations

import ssl
import threading
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlparse

import flask
import httpx
import oidc_provider_mock
import werkzeug.serving
from authlib import jose
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator

from tests.harness.certificates import make_tls

BLUEPRINT = "oidc-provider-mock"


class _Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return flask.g.oidc_provider_mock_storage.get_access_token(token_string)

    def check_permission(self, token: Any, client: Any, request: Any) -> bool:
        return True

    def introspect_token(self, token: Any) -> dict[str, Any]:
        user = token.get_user()
        return {**user.claims, "active": True, "sub": user.sub, "scope": token.scope,
                "token_type": "Bearer", "iss": flask.request.host_url.rstrip("/"),
                "exp": int(token.expires_at.timestamp())}


class _Subject:
    """The package's user as Authlib's RFC 9068 generator asks for it."""

    def __init__(self, user: Any) -> None:
        self.sub, self.claims = user.sub, user.claims

    def get_user_id(self) -> str:
        return str(self.sub)


class _JwtAccessTokens(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 access tokens signed with the provider's key, carrying the user's claims."""

    def __init__(self, audience: str, lifetime: int) -> None:
        super().__init__(issuer="", expires_generator=lambda client, grant_type: lifetime)
        self.audience = audience

    def access_token_generator(self, client: Any, grant_type: str, user: Any, scope: str
                               ) -> str:
        token: str = super().access_token_generator(client, grant_type, _Subject(user), scope)
        return token

    def get_jwks(self) -> Any:
        return jose.KeySet([flask.g.oidc_provider_mock_storage.jwk]).as_dict(is_private=True)

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return self.audience

    def get_extra_claims(self, client: Any, grant_type: str, user: Any, scope: str
                         ) -> dict[str, Any]:
        return {**user.claims, "iss": flask.request.host_url.rstrip("/")}


class PackagedProvider:
    def __init__(self, where: Path, users: dict[str, dict[str, Any]], *,
                 introspection: bool = False, jwt_access_tokens_for: str | None = None,
                 token_lifetime: timedelta = timedelta(hours=1)) -> None:
        where.mkdir(parents=True, exist_ok=True)
        self.ca, self.cert, key = make_tls(where, "provider")
        self.app = flask.Flask(oidc_provider_mock.__name__)  # its templates, its static files
        if jwt_access_tokens_for is not None:
            generator = _JwtAccessTokens(jwt_access_tokens_for,
                                         int(token_lifetime.total_seconds()))
            self.app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = generator.access_token_generator
        oidc_provider_mock.init_app(self.app, require_nonce=True,
                                    access_token_max_age=token_lifetime, user_claims=[
            oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in users.items()])
        with self.app.test_request_context():
            self.app.preprocess_request()
            self.storage = flask.g.oidc_provider_mock_storage
            server = flask.g._authlib_authorization_server
        self.introspections: list[dict[str, str]] = []
        self.userinfos = 0
        self.signouts: list[dict[str, str]] = []
        self._record()
        if introspection:
            server.register_endpoint(_Introspection)
            self.app.add_url_rule("/oauth2/introspect", "introspect", methods=["POST"],
                                  view_func=lambda: server.create_endpoint_response(
                                      "introspection"))
            self._list_in_discovery(introspection_endpoint="/oauth2/introspect")
        self.users = users
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self._server = werkzeug.serving.make_server("127.0.0.1", 0, self.app, threaded=True,
                                                    ssl_context=context)
        self.issuer = f"https://127.0.0.1:{self._server.server_port}"

    def _record(self) -> None:
        @self.app.before_request
        def record() -> None:
            path = flask.request.path
            if path == "/oauth2/introspect":
                self.introspections.append(dict(flask.request.form))
            elif path == "/userinfo":
                self.userinfos += 1
            elif path == "/oauth2/end_session":
                self.signouts.append(dict(flask.request.values))

    def _list_in_discovery(self, **endpoints: str) -> None:
        name = f"{BLUEPRINT}.openid_config"
        stock = self.app.view_functions[name]

        def discovery() -> Any:
            document = stock().get_json()
            base = flask.request.host_url.rstrip("/")
            return flask.jsonify({**document, **{k: base + v for k, v in endpoints.items()}})

        self.app.view_functions[name] = discovery

    def __enter__(self) -> PackagedProvider:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def code_flow(self, client_id: str, redirect_uri: str, sub: str, **asked: str
                  ) -> dict[str, Any]:
        """The tokens a client gets for `sub` (approved on the package's own form), without
        the node: what someone holding the user's tokens could send the API."""
        verify = self.trust()
        authorize = httpx.post(f"{self.issuer}/oauth2/authorize", verify=verify, data={"sub": sub},
                               params={"client_id": client_id, "redirect_uri": redirect_uri,
                                       "response_type": "code", "scope": "openid",
                                       "nonce": "a-nonce", "state": "a-state", **asked})
        assert authorize.status_code == 302, authorize.text
        code = parse_qs(urlparse(authorize.headers["location"]).query)["code"][0]
        tokens = httpx.post(f"{self.issuer}/oauth2/token", verify=verify, auth=(client_id, "-"),
                            data={
                                "grant_type": "authorization_code", "code": code,
                                "redirect_uri": redirect_uri, "client_id": client_id})
        assert tokens.status_code == 200, tokens.text
        found: dict[str, Any] = tokens.json()
        return found

    def trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def rotate(self) -> None:
        """The provider signs with a new key from now on, and publishes only that one."""
        self.storage.jwk = jose.RSAKey.generate_key(is_private=True)

    def revoke(self, sub: str) -> None:
        """The user's tokens are revoked (the package's own endpoint for it)."""
        with self.app.test_client() as client:
            assert client.post(f"/users/{sub}/revoke-tokens",
                               base_url=self.issuer).status_code == 204
