"""Who a token's claims say is calling: its subject, its agency and its roles.

Identity providers put these where they put them: Keycloak its roles under
`realm_access.roles` (or `resource_access.<client>.roles`), Microsoft Entra ID its app
roles in `roles` and no agency at all, others in `groups`. A `ClaimMap` says where to read
them on this node (`HOMEWARD_OIDC_ROLES_CLAIM`, a dotted path; `HOMEWARD_OIDC_AGENCY_CLAIM`,
or `HOMEWARD_OIDC_AGENCY` for a provider that serves this agency only) and how the
provider's role names read as the node's (`HOMEWARD_OIDC_ROLE_MAP`). A refusal names the
claim and the setting that decided, so an operator knows what to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from events.values import Actor, Role, valid_agency

ROLE_NAMES = frozenset(role.value for role in Role)


class Unauthorized(Exception):
    """No token, or one that does not verify; the message says which."""

    status = 401


class TokenCheckUnavailable(Unauthorized):
    """The provider that vouches for an opaque token cannot be asked now."""

    status = 503


@dataclass(frozen=True)
class Principal:
    sub: str
    agency: str
    roles: frozenset[Role]

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def actor(self) -> Actor:
        return Actor(agency=self.agency, sub=self.sub, roles=self.roles)


@dataclass(frozen=True)
class ClaimMap:
    """Where the agency and the roles are in a token's claims. With `role_map`, only the
    names it maps grant a role; without, the names are the node's own role names."""

    roles_claim: str = "roles"
    agency_claim: str = "agency"
    agency: str | None = None
    role_map: Mapping[str, str] = field(default_factory=dict)  # provider's: node's
    # The settings to name in a refusal (a node with single sign-on has them).
    settings_named: bool = False

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not 0 < len(sub) <= 200 or not sub.isprintable():
            raise Unauthorized("the token's `sub` must be a printable string of 1 to 200 "
                               "characters")
        return Principal(sub=sub, agency=self._agency(claims), roles=self._roles(claims))

    def _agency(self, claims: Mapping[str, Any]) -> str:
        if self.agency is not None:
            return self.agency
        agency = _at(claims, self.agency_claim)
        if isinstance(agency, str) and (agency == "monitor" or valid_agency(agency)):
            return agency
        said = "has no" if agency is None else "has no agency code in its"
        hint = (" (HOMEWARD_OIDC_AGENCY_CLAIM names the claim; HOMEWARD_OIDC_AGENCY fixes "
                "the agency for a provider that serves this agency only)"
                if self.settings_named else "")
        raise Unauthorized(f"the token {said} `{self.agency_claim}` claim{hint}")

    def _roles(self, claims: Mapping[str, Any]) -> frozenset[Role]:
        said = _at(claims, self.roles_claim)
        if isinstance(said, str):  # some providers give a space-separated list
            said = said.split()
        if not isinstance(said, list) or not all(isinstance(r, str) for r in said):
            hint = (" (HOMEWARD_OIDC_ROLES_CLAIM: the dotted path to the provider's list of "
                    "roles, e.g. realm_access.roles)" if self.settings_named else "")
            what = "carries no" if said is None else "has no list of role names in its"
            raise Unauthorized(f"the token {what} `{self.roles_claim}` claim{hint}")
        if self.role_map:
            return frozenset(Role(self.role_map[r]) for r in said if r in self.role_map)
        # Roles this node does not know grant nothing.
        return frozenset(Role(r) for r in said if r in ROLE_NAMES)


def _at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (`realm_access.roles`), or None."""
    value: Any = claims
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value
