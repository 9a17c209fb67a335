"""Both kinds of node's HTTP apps, an agency's and the monitor's, built as `homeward serve`
builds them (with the API document), for tests that walk every route."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from services.api.app import create_app, create_monitor_app
from services.bootstrap import build_monitor, build_node
from services.clock import FixedClock
from services.settings import load


@contextmanager
def both_apps(root: Path, now: datetime) -> Iterator[dict[str, FastAPI]]:
    """{"agency": XA-NRM's app, "monitor": the monitor's}, their nodes closed after."""
    node = build_node(load(agency="XA-NRM", data_dir=root / "xa", api_docs=True),
                      FixedClock(now))
    monitor = build_monitor(load(agency="monitor", data_dir=root / "monitor", api_docs=True),
                            FixedClock(now))
    try:
        yield {"agency": create_app(node), "monitor": create_monitor_app(monitor)}
    finally:
        node.close()
        monitor.close()
