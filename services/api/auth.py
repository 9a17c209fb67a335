"""Bearer tokens: who is calling, for which agency, in which roles.

A node verifies HS256 tokens with its own secret (development and single-node
installs) or tokens signed by an identity provider whose keys it fetches from a
JWKS URL (production). Either way the claims are `sub`, `agency`, `roles`, `iss`,
`aud`, `iat` and `exp`, and a token is accepted only when it was issued for this
node: its issuer and audience are the node's (by default the node's agency code),
it lives no longer than the node allows, and its `agency` is the node's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt

from events.values import Actor, Role, valid_agency

ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "agency", "roles"]
MIN_SECRET_BYTES = 32  # HS256 with a shorter secret can be brute-forced (RFC 7518, 3.2)
MAX_LIFETIME = timedelta(hours=12)
LEEWAY = timedelta(seconds=30)  # clock skew between the issuer and this node
ROLE_NAMES = frozenset(role.value for role in Role)


class KeySource(Protocol):
    """Where an identity provider's signing keys come from (a `jwt.PyJWKClient`, or the
    provider the pages sign in through, which finds its JWKS by discovery)."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK: ...


class Unauthorized(Exception):
    """No token, or one that does not verify; the message says which."""


@dataclass(frozen=True)
class Principal:
    sub: str
    agency: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def actor(self) -> Actor:
        return Actor(agency=self.agency, sub=self.sub, roles=self.roles)


class TokenVerifier:
    """Verifies the tokens issued for one node.

    `agency` is the node's agency (`monitor` on the monitor): a token of any other
    agency is refused, whoever signed it. `issuer` and `audience` default to it.
    """

    def __init__(self, secret: str | None = None, jwks_url: str | None = None, *,
                 agency: str, issuer: str | None = None, audience: str | None = None,
                 max_lifetime: timedelta = MAX_LIFETIME, keys: KeySource | None = None
                 ) -> None:
        sources = sum(1 for source in (secret, jwks_url) if source) + (keys is not None)
        if not sources:
            raise ValueError("a token verifier needs a secret or a JWKS URL")
        if sources > 1:
            raise ValueError("a token verifier takes a secret or a JWKS URL, not both")
        if secret and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"an HS256 secret needs at least {MIN_SECRET_BYTES} bytes")
        self.secret = secret
        self.jwks: KeySource | None = jwt.PyJWKClient(jwks_url) if jwks_url else keys
        self.agency = agency
        self.issuer = issuer or agency
        self.audience = audience or agency
        self.max_lifetime = max_lifetime

    def principal(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required")
        claims = self._decode(token.strip())
        self._check_lifetime(claims)
        who = _principal(claims)
        if who.agency != self.agency:
            raise Unauthorized(f"the token is for {who.agency}; this node serves {self.agency}")
        return who

    def _decode(self, token: str) -> dict[str, Any]:
        options: Any = {"require": REQUIRED_CLAIMS}
        checks: Any = {"audience": self.audience, "issuer": self.issuer, "options": options,
                       "leeway": LEEWAY}
        try:
            if self.jwks is not None:
                key = self.jwks.get_signing_key_from_jwt(token).key
                return jwt.decode(token, key, algorithms=ASYMMETRIC, **checks)
            assert self.secret is not None
            return jwt.decode(token, self.secret, algorithms=["HS256"], **checks)
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized(f"the token is not for this node (aud must be {self.audience!r})"
                               ) from None
        except jwt.InvalidIssuerError:
            raise Unauthorized(f"the token's issuer is not {self.issuer!r}") from None
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


def _principal(claims: dict[str, Any]) -> Principal:
    sub, agency, roles = claims.get("sub"), claims.get("agency"), claims.get("roles")
    if not isinstance(sub, str) or not 0 < len(sub) <= 200 or not sub.isprintable():
        raise Unauthorized("the token's `sub` must be a printable string of 1 to 200 characters")
    if not isinstance(agency, str) or not (agency == "monitor" or valid_agency(agency)):
        raise Unauthorized("the token's `agency` must be an agency code")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("the token's `roles` must be a list of role names")
    # Roles this node does not know grant nothing.
    known = frozenset(Role(r) for r in roles if r in ROLE_NAMES)
    return Principal(sub=sub, agency=agency, roles=known)


def issue(secret: str, sub: str, agency: str, roles: list[str], at: datetime,
          hours: float = 8.0, issuer: str | None = None, audience: str | None = None) -> str:
    """A development token signed with the node's secret, for the node of `agency`
    (its issuer and audience default to the agency code, as the node's do)."""
    claims = {"sub": sub, "agency": agency, "roles": roles, "iat": at,
              "exp": at + timedelta(hours=hours), "iss": issuer or agency,
              "aud": audience or agency}
    return jwt.encode(claims, secret, algorithm="HS256")
