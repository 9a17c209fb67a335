"""The agency's OpenID Connect provider, as this node's pages sign in through it.

The provider is found through its discovery document (`<issuer>/.well-known/openid-
configuration`, fetched when first needed, so a node starts while its provider is down)
and reached over https only, trusting `HOMEWARD_OIDC_CA_FILE` if set, else the system's
CAs. The node is a client of the provider using the authorization code flow with PKCE
(S256); it checks the ID token the code buys (signature from the provider's JWKS,
issuer, audience = the client id, nonce), and the API verifies the access token with the
same keys (`TokenVerifier`, given this provider's `signing_keys`), or, for an opaque
access token, asks the provider about it (`introspect`, `userinfo`:
services/api/identity/opaque.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlparse
from urllib.request import HTTPRedirectHandler, HTTPSHandler, Request, build_opener

import jwt

from services.api.identity.auth import ASYMMETRIC, LEEWAY
from services.api.identity.jwks import SigningKeys
from services.settings import Settings

TIMEOUT = 10.0  # seconds for one call to the provider
MAX_DOCUMENT = 1 << 20  # bytes read from the provider at most


class SigninRefused(Exception):
    """The sign-in cannot go on; `status` is the HTTP status the node answers with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Discovery:
    """What the node uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None
    introspection_endpoint: str | None = None
    userinfo_endpoint: str | None = None

    @classmethod
    def of(cls, issuer: str, document: Any) -> Discovery:
        if not isinstance(document, dict):
            raise SigninRefused(502, "the provider's discovery document is not a JSON object")
        if document.get("issuer") != issuer:  # OpenID Connect Discovery 1.0, 4.3
            raise SigninRefused(502, f"the provider's discovery document names the issuer "
                                f"{document.get('issuer')!r}, not {issuer!r}")
        methods = document.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise SigninRefused(502, "the provider does not offer PKCE with S256")
        endpoints: dict[str, str] = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            address = document.get(name)
            if not isinstance(address, str) or urlparse(address).scheme != "https":
                raise SigninRefused(502, f"the provider's {name} must be an https:// address")
            endpoints[name] = address
        for name in ("end_session_endpoint", "introspection_endpoint", "userinfo_endpoint"):
            address = document.get(name)  # optional: used only if over https
            if isinstance(address, str) and urlparse(address).scheme == "https":
                endpoints[name] = address
        return cls(issuer, **endpoints)


def challenge(verifier: str) -> str:
    """The PKCE code challenge of a verifier, method S256 (RFC 7636, 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _HttpsOnly(HTTPRedirectHandler):
    """Follows a provider's redirect only to another https:// address."""

    def redirect_request(self, req: Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Request | None:
        if urlparse(newurl).scheme != "https":
            raise HTTPError(newurl, code, "a redirect away from https", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Provider:
    """One OpenID provider and this node's client there."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self.issuer, self.client_id = settings.oidc_issuer, settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.audience = settings.audience  # the API's, which may not be the client's
        self.scopes = settings.oidc_scopes
        self.redirect_url = settings.oidc_redirect_url
        ca = str(settings.oidc_ca_file) if settings.oidc_ca_file else None
        self.tls = ssl.create_default_context(cafile=ca)
        self._opener = build_opener(HTTPSHandler(context=self.tls), _HttpsOnly())
        self._lock = threading.Lock()
        self._discovery: Discovery | None = None
        self.signing_keys = SigningKeys(self._jwks)

    # -- what the provider publishes ------------------------------------------

    def discovery(self) -> Discovery:
        with self._lock:
            if self._discovery is None:  # a failure is tried again on the next call
                address = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                self._discovery = Discovery.of(self.issuer, self._fetch(Request(address)))
            return self._discovery

    def _jwks(self) -> Any:
        """The provider's JWKS (for `signing_keys`, which keeps it)."""
        try:
            return self._fetch(Request(self.discovery().jwks_uri))
        except SigninRefused as error:
            raise jwt.PyJWKClientConnectionError(error.detail) from None

    # -- the authorization code flow ------------------------------------------

    def authorization_url(self, redirect_uri: str, state: str, nonce: str,
                          verifier: str) -> str:
        query = {"response_type": "code", "client_id": self.client_id,
                 "redirect_uri": redirect_uri, "scope": self.scopes, "state": state,
                 "nonce": nonce, "code_challenge": challenge(verifier),
                 "code_challenge_method": "S256"}
        endpoint = self.discovery().authorization_endpoint
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The tokens the code buys, with the PKCE verifier (and the client's secret, for a
        confidential client: HTTP Basic, RFC 6749 2.3.1)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier, "client_id": self.client_id}
        request = Request(self.discovery().token_endpoint, urlencode(form).encode(),
                          self._client_headers())
        tokens = self._fetch(request, refused="the provider refused the code (a client id "
                             "or secret it does not know is invalid_client: check "
                             "HOMEWARD_OIDC_CLIENT_ID and HOMEWARD_OIDC_CLIENT_SECRET)")
        if not isinstance(tokens, dict) or not all(
                isinstance(tokens.get(name), str) for name in ("id_token", "access_token")):
            raise SigninRefused(502, "the provider's token response has no ID token or "
                                "access token")
        return tokens

    def identity(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once it is the provider's, for this client, and for the
        sign-in this browser started (its nonce)."""
        try:
            claims = self._verified_or_rotated(id_token)
        except jwt.InvalidSignatureError:
            raise SigninRefused(401, "the provider's ID token does not verify: its signature "
                                "is not by the provider's keys") from None
        except jwt.PyJWKClientConnectionError as error:
            raise SigninRefused(502, f"the provider's keys cannot be read: {error}") from None
        except jwt.PyJWTError as error:
            raise SigninRefused(401, f"the provider's ID token does not verify: {error}"
                                ) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:  # OIDC Core 3.1.3.7
            raise SigninRefused(401, "the ID token is for several clients, and `azp` is not "
                                "this one")
        if claims.get("nonce") != nonce:
            raise SigninRefused(401, "the ID token's nonce is not the one this sign-in sent")
        return claims

    def _verified_or_rotated(self, id_token: str) -> dict[str, Any]:
        try:
            return self._verified(id_token)
        except jwt.InvalidSignatureError:
            # A set of one key whose tokens name none: the provider may have rotated it.
            if jwt.get_unverified_header(id_token).get("kid") is not None or \
                    not self.signing_keys.refresh_after_failure():
                raise
        return self._verified(id_token)

    def _verified(self, id_token: str) -> dict[str, Any]:
        try:
            key = self.signing_keys.get_signing_key_from_jwt(id_token).key
            claims: dict[str, Any] = jwt.decode(
                id_token, key, algorithms=ASYMMETRIC, audience=self.client_id,
                issuer=self.issuer, leeway=LEEWAY,
                options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce"]})
        except (jwt.InvalidSignatureError, jwt.PyJWKClientConnectionError):
            raise
        except jwt.InvalidAudienceError:
            raise SigninRefused(401, f"the provider's ID token does not verify: it is not for "
                                f"this node's client {self.client_id!r} "
                                "(HOMEWARD_OIDC_CLIENT_ID)") from None
        except jwt.InvalidIssuerError:
            raise SigninRefused(401, f"the provider's ID token does not verify: its issuer is "
                                f"not {self.issuer!r} (HOMEWARD_OIDC_ISSUER)") from None
        except jwt.PyJWTError as error:
            raise SigninRefused(401, f"the provider's ID token does not verify: {error}"
                                ) from None
        return claims

    def signout_url(self, back: str, id_token: str | None = None) -> str | None:
        """The provider's end of session (RP-Initiated Logout 1.0), coming back to `back`;
        with the ID token of the sign-in as `id_token_hint`, which some providers require
        before they honour `post_logout_redirect_uri`."""
        ending = self.discovery().end_session_endpoint
        if ending is None:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": back}
        if id_token:
            query["id_token_hint"] = id_token
        return ending + ("&" if "?" in ending else "?") + urlencode(query)

    # -- opaque access tokens (services/api/identity/opaque.py) -------------------

    def introspect(self, token: str) -> Any:
        """The provider's answer about `token` (RFC 7662), asked with this client's
        credentials."""
        endpoint = self.discovery().introspection_endpoint
        assert endpoint is not None
        form = {"token": token, "token_type_hint": "access_token"}
        if not self.client_secret:
            form["client_id"] = self.client_id  # a public client says who it is
        request = Request(endpoint, urlencode(form).encode(), self._client_headers())
        return self._fetch(request, refused="the provider refused to introspect the token "
                           "(it needs this client's credentials: HOMEWARD_OIDC_CLIENT_SECRET)")

    def userinfo(self, token: str) -> Any:
        """What the provider's userinfo endpoint says of the bearer of `token`."""
        endpoint = self.discovery().userinfo_endpoint
        assert endpoint is not None
        request = Request(endpoint, headers={"Authorization": f"Bearer {token}",
                                             "Accept": "application/json"})
        return self._fetch(request, refused="the provider's userinfo endpoint refused the "
                           "token")

    def _client_headers(self) -> dict[str, str]:
        """A form post by this client (with its secret, for a confidential client: HTTP
        Basic, RFC 6749 2.3.1)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json"}
        if self.client_secret:
            pair = f"{_form(self.client_id)}:{_form(self.client_secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    # -- the wire -----------------------------------------------------------------

    def _fetch(self, request: Request, refused: str | None = None) -> Any:
        if urlparse(request.full_url).scheme != "https":
            raise SigninRefused(502, f"the provider must be reached over https, not "
                                f"{request.full_url!r}")
        try:
            with self._opener.open(request, timeout=TIMEOUT) as response:
                return json.loads(response.read(MAX_DOCUMENT))
        except HTTPError as error:
            if refused and 400 <= error.code < 500:
                raise SigninRefused(401, f"{refused}: {_oauth_error(error)}") from None
            raise SigninRefused(502, f"the provider answered {error.code} ({error.msg}) at "
                                f"{request.full_url}") from None
        except (URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            trust = (" (HOMEWARD_OIDC_CA_FILE: the CA that issued the provider's certificate)"
                     if "CERTIFICATE_VERIFY_FAILED" in str(reason) else "")
            raise SigninRefused(502, f"the provider cannot be reached at {request.full_url}: "
                                f"{reason}{trust}") from None


def _form(value: str) -> str:
    return quote(value, safe="")


def _oauth_error(error: HTTPError) -> str:
    """The provider's `error` code (RFC 6749, 5.2), printable and short."""
    try:
        body = json.loads(error.read(4096))
        code = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        code = None
    text = str(code) if code else f"status {error.code}"
    return "".join(ch for ch in text if ch.isprintable())[:80]
