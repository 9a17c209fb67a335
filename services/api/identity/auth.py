"""Bearer tokens: who is calling, for which agency, in which roles.

A node verifies HS256 tokens with its own secret (development and single-node
installs) or tokens signed by an identity provider whose keys it fetches from a
JWKS URL (production). Either way the claims are `sub`, `agency`, `roles`, `iss`,
`aud`, `iat` and `exp`, and a token is accepted only when it was issued for this
node: its issuer and audience are the node's (by default the node's agency code),
it lives no longer than the node allows, and its `agency` is the node's own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt
from starlette.concurrency import run_in_threadpool

from services.api.identity.claims import ClaimMap, Principal, TokenCheckUnavailable, Unauthorized
from services.api.identity.jwks import SigningKeys, fetched_from

__all__ = ["ClaimMap", "Principal", "TokenVerifier", "Unauthorized", "issue"]

ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
MIN_SECRET_BYTES = 32  # HS256 with a shorter secret can be brute-forced (RFC 7518, 3.2)
MAX_LIFETIME = timedelta(hours=12)
LEEWAY = timedelta(seconds=30)  # clock skew between the issuer and this node
ID_TOKEN_SENT = "an ID token was sent, not an access token"
CHECKED_KEPT = 4096  # tokens signed with the node's secret whose check is kept till they expire
now_seconds = time.time  # the wall clock, as PyJWT reads it for `exp`


class OpaqueTokens(Protocol):
    """Where a token that is not a JWT is asked about (the provider's introspection or
    userinfo endpoint): its claims, or Unauthorized."""

    def claims(self, token: str) -> dict[str, Any]: ...


class TokenVerifier:
    """Verifies the tokens issued for one node.

    `agency` is the node's agency (`monitor` on the monitor): a token of any other
    agency is refused, whoever signed it. `issuer` and `audience` default to it.
    With single sign-on, `client_id` is the node's client at the provider (a token for it
    is an ID token, refused) and `opaque` answers for tokens that are not JWTs.
    """

    def __init__(self, secret: str | None = None, jwks_url: str | None = None, *,
                 agency: str, issuer: str | None = None, audience: str | None = None,
                 max_lifetime: timedelta = MAX_LIFETIME, keys: SigningKeys | None = None,
                 claims: ClaimMap | None = None, client_id: str | None = None,
                 opaque: OpaqueTokens | None = None) -> None:
        sources = sum(1 for source in (secret, jwks_url) if source) + (keys is not None)
        if not sources:
            raise ValueError("a token verifier needs a secret or a JWKS URL")
        if sources > 1:
            raise ValueError("a token verifier takes a secret or a JWKS URL, not both")
        if secret and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"an HS256 secret needs at least {MIN_SECRET_BYTES} bytes")
        self.secret = secret
        self.jwks = SigningKeys(fetched_from(jwks_url)) if jwks_url else keys
        self.agency = agency
        self.issuer = issuer or agency
        self.audience = audience or agency
        self.max_lifetime = max_lifetime
        self.claims = claims or ClaimMap()
        self.client_id, self.opaque = client_id, opaque
        # A token that passed every check, with the instant it stops passing (`exp`): the
        # same caller's next request is not decoded and its signature not checked again.
        self._checked: dict[str, tuple[Principal, float]] = {}

    @property
    def offline(self) -> bool:
        """Whether a check needs nothing but this process (the node's own secret): no
        provider's keys fetched, no opaque token asked about, so nothing that waits."""
        return self.jwks is None and self.opaque is None

    async def principal_of(self, authorization: str | None) -> Principal:
        """`principal` from a coroutine: in place when the check is offline (a few tens
        of microseconds of CPU), else in the thread pool, where a fetch may wait."""
        if self.offline:
            return self.principal(authorization)
        return await run_in_threadpool(self.principal, authorization)

    def principal(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required")
        token = token.strip()
        checked = self._checked.get(token)
        if checked is not None:
            if now_seconds() < checked[1]:
                return checked[0]
            raise Unauthorized("the token has expired")
        if not _is_jwt(token):
            if self.opaque is None:
                raise Unauthorized("the token is not a JWT (header.payload.signature)")
            who, expires = self.claims.principal(self.opaque.claims(token)), None
        else:
            claims = self._decode(token)
            self._check_lifetime(claims)
            who, expires = self.claims.principal(claims), claims["exp"]
        if who.agency != self.agency:
            raise Unauthorized(f"the token is for {who.agency}; this node serves {self.agency}")
        if self.offline and expires is not None:
            self._keep_checked(token, who, expires)
        return who

    def _keep_checked(self, token: str, who: Principal, expires: float) -> None:
        """Only the node's own tokens: a provider's keys may be rotated away, and what an
        opaque token says may change, before the token expires."""
        if len(self._checked) >= CHECKED_KEPT:
            self._checked.clear()
        self._checked[token] = (who, expires + LEEWAY.total_seconds())

    def _refuse_id_token(self, token: str) -> None:
        """The API takes access tokens only: an ID token says who signed in, to the client,
        and must not open the API (OpenID Connect Core 2; RFC 9068, 4)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return  # the checks that follow say what is wrong
        if "nonce" in claims:
            raise Unauthorized(f"{ID_TOKEN_SENT} (it carries `nonce`); the API takes the "
                               "provider's access token")
        if claims.get("typ") == "ID":  # Keycloak names its tokens' kind in the claims
            raise Unauthorized(f"{ID_TOKEN_SENT} (its `typ` is ID); the API takes the "
                               "provider's access token")
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if (self.client_id and self.client_id != self.audience
                and self.client_id in audiences and self.audience not in audiences):
            raise Unauthorized(f"{ID_TOKEN_SENT} (its audience is the client "
                               f"{self.client_id!r}, not the API {self.audience!r})")

    def _decode(self, token: str) -> dict[str, Any]:
        self._refuse_id_token(token)
        try:
            return self._verified(token)
        except jwt.InvalidSignatureError:
            # A set of one key whose tokens name none: the provider may have rotated it.
            rotated = (self.jwks is not None and _kid(token) is None
                       and self.jwks.refresh_after_failure())
        if rotated:
            try:
                return self._verified(token)
            except jwt.InvalidSignatureError:
                pass
        raise Unauthorized("the token does not verify: its signature is not by the issuer's "
                           "keys")

    def _verified(self, token: str) -> dict[str, Any]:
        options: Any = {"require": REQUIRED_CLAIMS}
        checks: Any = {"audience": self.audience, "issuer": self.issuer, "options": options,
                       "leeway": LEEWAY}
        try:
            if self.jwks is not None:
                key = self.jwks.get_signing_key_from_jwt(token).key
                return jwt.decode(token, key, algorithms=ASYMMETRIC, **checks)
            assert self.secret is not None
            return jwt.decode(token, self.secret, algorithms=["HS256"], **checks)
        except jwt.InvalidSignatureError:
            raise
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized(f"the token is not for this node (aud must be {self.audience!r}; "
                               "HOMEWARD_TOKEN_AUDIENCE sets it)") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized(f"the token's issuer is not {self.issuer!r} "
                               "(HOMEWARD_TOKEN_ISSUER sets it)") from None
        except jwt.PyJWKClientConnectionError as error:
            raise TokenCheckUnavailable(f"the provider's keys cannot be read: {error}"
                                        ) from None
        except jwt.PyJWTError as error:
            raise Unauthorized(f"the token does not verify: {error}") from None

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """No token lives longer than the node allows, counted from its issue and from now."""
        issued, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise Unauthorized("the token's `iat` and `exp` must be numeric dates")
        longest = (self.max_lifetime + LEEWAY).total_seconds()
        now = datetime.now(UTC).timestamp()
        if expires - issued > longest or expires - now > longest:
            hours = self.max_lifetime.total_seconds() / 3600
            raise Unauthorized(f"the token lives longer than this node allows ({hours:g} h)")


def _is_jwt(token: str) -> bool:
    if token.count(".") != 2:
        return False
    try:
        jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    return True


def _kid(token: str) -> Any:
    return jwt.get_unverified_header(token).get("kid")


def issue(secret: str, sub: str, agency: str, roles: list[str], at: datetime,
          hours: float = 8.0, issuer: str | None = None, audience: str | None = None) -> str:
    """A development token signed with the node's secret, for the node of `agency`
    (its issuer and audience default to the agency code, as the node's do)."""
    claims = {"sub": sub, "agency": agency, "roles": roles, "iat": at,
              "exp": at + timedelta(hours=hours), "iss": issuer or agency,
              "aud": audience or agency}
    return jwt.encode(claims, secret, algorithm="HS256")
