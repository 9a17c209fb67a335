"""`homeward serve`: one agency node (or the monitor node) over HTTP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.settings import Settings, SettingsError, agency_given, load


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run one agency node, configured by HOMEWARD_*")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path, help="overrides HOMEWARD_DATA_DIR")
    serve.set_defaults(handler=run_serve)


def settings_of(data_dir: Path | None, agency: str | None = None) -> Settings:
    """The node's settings, `--data-dir` over HOMEWARD_DATA_DIR; `agency` where the
    environment names none (HOMEWARD_AGENCY)."""
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if agency is not None and not agency_given():
        overrides["agency"] = agency
    return load(**overrides)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from services.api.app import create_app, create_monitor_app
    from services.api.metrics import open_to_anyone
    from services.bootstrap import build_monitor, build_node

    try:
        settings = settings_of(args.data_dir)
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
