"""Fixtures for the HTTP tests: two agency nodes on a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.http_nodes import Pair, pair


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Pair]:
    p = pair(tmp_path)
    yield p
    p.close()
