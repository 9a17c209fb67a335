"""`homeward serve` (one agency node over HTTP) and `homeward token` (a
development bearer token signed with that node's secret)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from events.values import Role, valid_agency
from services.settings import Settings, SettingsError, load


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run one agency node, configured by HOMEWARD_*")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path, help="overrides HOMEWARD_DATA_DIR")
    serve.set_defaults(handler=run_serve)
    token = commands.add_parser("token", help="print a development bearer token")
    token.add_argument("--agency", required=True, help="the token's agency, e.g. XA-NRM")
    token.add_argument("--role", required=True, action="append", dest="roles",
                       choices=[r.value for r in Role], help="repeat for several roles")
    token.add_argument("--sub", required=True, help="who the token is for (a user id)")
    token.add_argument("--hours", type=float, default=8.0, help="valid for this long")
    token.add_argument("--data-dir", type=Path, help="overrides HOMEWARD_DATA_DIR")
    token.set_defaults(handler=run_token)


def _settings(data_dir: Path | None, agency: str | None = None) -> Settings:
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    # The token is signed by the node this environment configures; without one,
    # by the node of the token's own agency.
    if agency is not None and "HOMEWARD_AGENCY" not in os.environ:
        overrides["agency"] = agency
    return load(**overrides)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from services.api.app import create_app, create_monitor_app
    from services.api.metrics import open_to_anyone
    from services.bootstrap import build_monitor, build_node

    try:
        settings = _settings(args.data_dir)
        open_to_anyone(settings, args.host)
        if settings.agency == "monitor":
            monitor = build_monitor(settings).start()
            app, close = create_monitor_app(monitor), monitor.close
        else:
            node = build_node(settings).start()
            app, close = create_app(node), node.close
    except SettingsError as error:
        print(f"homeward serve: {error}", file=sys.stderr)
        return 2
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        close()
    return 0


def run_token(args: argparse.Namespace) -> int:
    from services.bootstrap import mint

    if args.agency != "monitor" and not valid_agency(args.agency):
        print(f"homeward token: --agency {args.agency!r} is not an agency code like XA-NRM",
              file=sys.stderr)
        return 2
    try:
        settings = _settings(args.data_dir, args.agency)
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
