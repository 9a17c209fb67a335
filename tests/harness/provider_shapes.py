"""The shapes of the agencies' providers' tokens the sign-in tests use: the independent
provider's own (agency and roles as top-level claims), Keycloak's and Entra ID's, each with
the node's settings that read it."""

from __future__ import annotations

from tests.harness.http_nodes import XA

CLIENT = "homeward-xa-nrm"
CALLBACK = "http://testserver/ui/signin/callback"
ANA = {"agency": XA, "roles": ["caseworker"], "name": "Ana Caseworker"}
# Keycloak: realm roles under realm_access, the agency from a user attribute's mapper.
KEYCLOAK = {"realm_access": {"roles": ["nrm-caseworker", "offline_access"]},
            "resource_access": {"account": {"roles": ["view-profile"]}},
            "homeward_agency": XA, "preferred_username": "ana", "azp": CLIENT}
KEYCLOAK_SETTINGS = {"oidc_roles_claim": "realm_access.roles",
                     "oidc_agency_claim": "homeward_agency",
                     "oidc_role_map": "nrm-caseworker=caseworker,nrm-supervisor=supervisor",
                     "token_audience": "homeward-api"}
# Entra ID: app roles in `roles`, the tenant in `tid`, and no agency: the node fixes it.
ENTRA = {"roles": ["Homeward.Caseworker"], "tid": "8f1c2a0e-5b7d-4c1e-9a3f-2d6b7e8c9f01",
         "oid": "0b6a7c1d-2e3f-4a5b-8c9d-1e2f3a4b5c6d", "preferred_username": "ana@xa.example"}
ENTRA_SETTINGS = {"oidc_agency": XA, "oidc_role_map": "Homeward.Caseworker=caseworker",
                  "token_audience": "api://homeward-xa-nrm"}
