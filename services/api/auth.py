"""Bearer tokens: who is calling, for which agency, in which roles.

A node verifies HS256 tokens with its own secret (development and single-node
installs) or tokens signed by an identity provider whose keys it fetches from a
JWKS URL (production). Either way the claims are `sub`, `agency`, `roles`, `exp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from events.values import Actor, Role, valid_agency

ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]
REQUIRED_CLAIMS = ["exp", "sub", "agency", "roles"]
ROLE_NAMES = frozenset(role.value for role in Role)


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
    def __init__(self, secret: str | None = None, jwks_url: str | None = None) -> None:
        if not secret and not jwks_url:
            raise ValueError("a token verifier needs a secret or a JWKS URL")
        self.secret = secret
        self.jwks = jwt.PyJWKClient(jwks_url) if jwks_url else None

    def principal(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required")
        claims = self._decode(token.strip())
        return _principal(claims)

    def _decode(self, token: str) -> dict[str, Any]:
        options: Any = {"require": REQUIRED_CLAIMS}
        try:
            if self.jwks is not None:
                key = self.jwks.get_signing_key_from_jwt(token).key
                return jwt.decode(token, key, algorithms=ASYMMETRIC, options=options)
            assert self.secret is not None
            return jwt.decode(token, self.secret, algorithms=["HS256"], options=options)
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.PyJWTError as error:
            raise Unauthorized(f"the token does not verify: {error}") from None


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
          hours: float = 8.0) -> str:
    """A development token signed with the node's secret."""
    claims = {"sub": sub, "agency": agency, "roles": roles, "iat": at,
              "exp": at + timedelta(hours=hours)}
    return jwt.encode(claims, secret, algorithm="HS256")
