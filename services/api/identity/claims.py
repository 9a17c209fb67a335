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
from services.settings import Settings, SettingsError

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


def claim_map(settings: Settings) -> ClaimMap:
    """Where this node reads the agency and the roles in its provider's tokens, from its
    settings (SettingsError, naming the setting, for a value that cannot work)."""
    named = {"oidc_roles_claim", "oidc_agency_claim", "oidc_agency", "oidc_role_map"}
    if settings.oidc_issuer is None:
        if named & settings.model_fields_set:
            raise SettingsError("HOMEWARD_OIDC_ISSUER: the OIDC claim settings need the "
                                "provider's issuer")
        return ClaimMap()
    if settings.oidc_agency is not None and settings.oidc_agency != settings.agency:
        raise SettingsError(f"HOMEWARD_OIDC_AGENCY: the provider's users can only be of this "
                            f"node's agency, {settings.agency}, not {settings.oidc_agency!r}")
    if settings.oidc_agency is not None and "oidc_agency_claim" in settings.model_fields_set:
        raise SettingsError("HOMEWARD_OIDC_AGENCY: a fixed agency and HOMEWARD_OIDC_AGENCY_"
                            "CLAIM exclude each other; set one")
    for name in ("oidc_roles_claim", "oidc_agency_claim"):
        path = getattr(settings, name)
        if not path or any(not part for part in path.split(".")) or not path.isprintable():
            raise SettingsError(f"HOMEWARD_{name.upper()}: {path!r} is not a claim name or a "
                                "dotted path to one (realm_access.roles)")
    return ClaimMap(roles_claim=settings.oidc_roles_claim, agency=settings.oidc_agency,
                    agency_claim=settings.oidc_agency_claim,
                    role_map=role_map(settings.oidc_role_map or ""), settings_named=True)


def role_map(text: str) -> dict[str, str]:
    """`nrm-caseworker=caseworker,nrm-supervisor=supervisor` as {provider's: node's}."""
    found: dict[str, str] = {}
    for pair in (p.strip() for p in text.split(",")):
        name, sep, role = (part.strip() for part in pair.rpartition("="))
        if pair and (not sep or not name or role not in ROLE_NAMES):
            raise SettingsError(f"HOMEWARD_OIDC_ROLE_MAP: {pair!r} is not provider-role="
                                f"node-role (node roles: {', '.join(sorted(ROLE_NAMES))})")
        if pair:
            found[name] = role
    return found
