"""/metrics is open to anyone only on a node that listens on loopback: beyond it, the node
needs a metrics token or an address of the metrics' own."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.api.http.metrics import loopback, open_to_anyone
from services.settings import SettingsError, load

TOKEN = "m" * 32


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.0.0.5", False),
    ("node.example", False), ("", False),
])
def test_only_loopback_addresses_count_as_this_machine(host: str, expected: bool) -> None:
    assert loopback(host) is expected


@pytest.mark.parametrize("gate", [{"metrics_token": TOKEN}, {"metrics_addr": "127.0.0.1:9100"}])
def test_a_node_beyond_loopback_starts_with_its_metrics_gated(gate: dict[str, str]) -> None:
    open_to_anyone(load(agency="XA-NRM", data_dir=Path("unused"), **gate), "0.0.0.0")


def test_a_node_beyond_loopback_with_open_metrics_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOMEWARD_METRICS_TOKEN", "HOMEWARD_METRICS_ADDR"):
        monkeypatch.delenv(name, raising=False)
    settings = load(agency="XA-NRM", data_dir=Path("unused"))
    open_to_anyone(settings, "127.0.0.1")  # development on this machine stays open
    with pytest.raises(SettingsError, match="^HOMEWARD_METRICS_TOKEN: listening on 0.0.0.0"):
        open_to_anyone(settings, "0.0.0.0")
