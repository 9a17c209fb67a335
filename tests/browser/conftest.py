"""The browser tests' network: two agency nodes exchanging over the broker, each served over
HTTP, and one Chromium with a fresh profile."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.exchange.directory import load, save
from tests.browser.web import SHOTS, Browser, chromium, serving
from tests.harness.http_nodes import XA, XB, Pair, kafka_pair


@dataclass
class Web:
    pair: Pair
    urls: dict[str, str]
    browser: Browser


@pytest.fixture
def web(tmp_path: Path, kafka_bootstrap: str) -> Iterator[Web]:
    with chromium(tmp_path / "profile") as driver:
        pair = kafka_pair(tmp_path, kafka_bootstrap, XA, XB)
        try:
            with serving(pair.xa.client.app) as xa, serving(pair.xb.client.app) as xb:  # type: ignore[arg-type]
                directory = tmp_path / "directory.json"  # where each node answers its partner
                save(directory, load(directory).with_url(XA, xa).with_url(XB, xb))
                yield Web(pair, {XA: xa, XB: xb}, Browser(driver, Path(SHOTS) if SHOTS else None))
        finally:
            pair.close()
