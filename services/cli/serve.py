"""`homeward serve`: one agency node (or the monitor node) over HTTP.

Before it writes anything the node checks its settings and what it depends on
(services/startup/checks.py): a fault is one line on standard error and exit status 2.
SIGTERM or SIGINT stops it at any moment, starting included: what was started is closed
in order, no traceback, exit status 0. Its logs are one line per event on standard error
(services/logs/)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from services.cli.stopping import Stopped, ignore_signals, stop_on_signals
from services.settings import Settings, SettingsError, agency_given, load

if TYPE_CHECKING:
    from fastapi import FastAPI


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
    stop_on_signals()  # again: `main` set them for serve, a caller in-process may not have
    closes: list[Callable[[], None]] = []
    try:
        try:
            return _serve(args, closes.append)
        finally:
            ignore_signals()
            for close in reversed(closes):
                close()
    except Stopped:
        return 0


def _serve(args: argparse.Namespace, closing: Callable[[Callable[[], None]], None]) -> int:
    from services.logs.events import configure, operational
    from services.logs.settings import LogSettingsError

    try:
        settings = settings_of(args.data_dir)
        configure(f"{settings.agency}@{args.host}:{args.port}")
    except (SettingsError, LogSettingsError) as error:
        print(f"homeward serve: {error}", file=sys.stderr)
        return 2
    try:
        app = _start(settings, args.host, closing)
    except SettingsError as error:
        print(f"homeward serve: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # anything else at start: one line, never a traceback
        text = str(error).strip()
        print(f"homeward serve: cannot start: {type(error).__name__}"
              f"{': ' + text.splitlines()[0] if text else ''}", file=sys.stderr)
        return 2
    import uvicorn

    operational("node started", agency=settings.agency, port=args.port)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, log_level="warning")
    finally:
        operational("node stopping", agency=settings.agency)
    return 0


def _start(settings: Settings, host: str, closing: Callable[[Callable[[], None]], None]
           ) -> FastAPI:
    from services.api.app import create_app, create_monitor_app
    from services.api.http.metrics import open_to_anyone
    from services.bootstrap import build_monitor, build_node
    from services.logs.events import operational
    from services.startup.checks import check_start

    check_start(settings)
    open_to_anyone(settings, host)
    if settings.agency == "monitor":
        monitor = build_monitor(settings)
        closing(_logged(monitor.close, operational))
        monitor.start()
        return create_monitor_app(monitor)
    node = build_node(settings)
    closing(_logged(node.close, operational))
    node.start()
    return create_app(node)


def _logged(close: Callable[[], None], log: Callable[..., None]) -> Callable[[], None]:
    def closed() -> None:
        close()
        log("node stopped")
    return closed
