"""Single sign-on for the pages: the HOMEWARD_OIDC_* settings of the agency's OpenID
Connect provider and this node's client there, part of `Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from services.settings.checks import CallbackAddress, HttpsAddress, readable_file


class SignInSettings(BaseSettings):
    # The provider's issuer address (found through its discovery document) and this
    # node's client there.
    oidc_issuer: HttpsAddress | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_scopes: str = "openid"
    oidc_redirect_url: CallbackAddress | None = None
    oidc_ca_file: Path | None = None
    # Where the provider's tokens carry the roles (a dotted path) and the agency (a claim,
    # or one agency for a provider that serves this agency only), and how its role names
    # read as the node's (`provider-role=node-role,...`): checked by
    # services/api/identity/claims.py.
    oidc_roles_claim: str = "roles"
    oidc_agency_claim: str = "agency"
    oidc_agency: str | None = None
    oidc_role_map: str | None = None

    @field_validator("oidc_ca_file")
    @classmethod
    def _readable_ca_file(cls, value: Path | None) -> Path | None:
        return readable_file(value)

    @field_validator("oidc_scopes")
    @classmethod
    def _openid_scope(cls, value: str) -> str:
        if "openid" not in value.split():
            raise ValueError(f"must include openid, not {value!r}")
        return value
