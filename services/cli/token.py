"""`homeward token`: a development bearer token, signed with the node's own secret."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from events.values import Role, valid_agency
from services.cli.serve import settings_of
from services.settings import SettingsError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="print a development bearer token")
    token.add_argument("--agency", required=True, help="the token's agency, e.g. XA-NRM")
    token.add_argument("--role", required=True, action="append", dest="roles",
                       choices=[r.value for r in Role], help="repeat for several roles")
    token.add_argument("--sub", required=True, help="who the token is for (a user id)")
    token.add_argument("--hours", type=float, default=8.0, help="valid for this long")
    token.add_argument("--data-dir", type=Path, help="overrides HOMEWARD_DATA_DIR")
    token.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from services.bootstrap import mint

    if args.agency != "monitor" and not valid_agency(args.agency):
        print(f"homeward token: --agency {args.agency!r} is not an agency code like XA-NRM",
              file=sys.stderr)
        return 2
    try:
        # Signed by the node this environment configures; without one, by the node of
        # the token's own agency.
        settings = settings_of(args.data_dir, args.agency)
        if settings.agency != args.agency:
            # The secret here is this node's: a token for another agency would be a forgery.
            print(f"homeward token: this environment holds the secret of {settings.agency}, "
                  f"not of {args.agency}", file=sys.stderr)
            return 2
        if settings.jwks_url or settings.oidc_issuer:
            trusted = "HOMEWARD_JWKS_URL" if settings.jwks_url else "HOMEWARD_OIDC_ISSUER"
            print(f"homeward token: this node trusts {trusted}; ask its identity provider",
                  file=sys.stderr)
            return 2
        print(mint(settings, args.sub, args.roles, args.hours))
    except SettingsError as error:
        print(f"homeward token: {error}", file=sys.stderr)
        return 2
    return 0
