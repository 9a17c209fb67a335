"""Fixtures shared by the integration tests of the exchange."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.exchange_nodes import Node, pair


@pytest.fixture
def nodes(tmp_path: Path, kafka_bootstrap: str) -> Iterator[tuple[Node, Node]]:
    """Two agencies' nodes on their own stores, exchanging over the broker; closed after."""
    a, b = pair(tmp_path, kafka_bootstrap)
    yield a, b
    a.close()
    b.close()
