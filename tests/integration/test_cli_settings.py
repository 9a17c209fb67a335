"""Each command stops on a bad setting or a busy port with one clear line and a
non-zero status, before it starts anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from services.cli import main
from tests.harness.support import free_ports


@pytest.mark.parametrize("command", [
    ["serve", "--port", "1"],
    ["audit", "verify"],
])
def test_a_missing_agency_stops_the_command(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HOMEWARD_AGENCY", raising=False)
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert "HOMEWARD_AGENCY" in err and "\n" not in err


def test_a_store_without_its_key_stops_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    (tmp_path / "events.sqlite").write_bytes(b"")
    assert main(["serve", "--data-dir", str(tmp_path), "--port", "1"]) == 2
    assert "HOMEWARD_CIPHER_KEY: the store exists" in capsys.readouterr().err


def test_run_refuses_a_busy_port_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_ports(4)  # the network's four nodes; the first is taken
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        assert main(["run", "--data-dir", str(tmp_path), "--base-port", str(port)]) == 2
    assert f"port {port} is in use" in capsys.readouterr().err
    assert not (tmp_path / "broker").exists()  # no broker was started


def test_serve_beyond_loopback_with_open_metrics_stops_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    for name in ("HOMEWARD_METRICS_TOKEN", "HOMEWARD_METRICS_ADDR"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "xa-nrm"
    for host in ("0.0.0.0", "::", "192.0.2.10", "node.example"):
        assert main(["serve", "--host", host, "--data-dir", str(data_dir), "--port", "1"]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and f"listening on {host}" in err
        assert "HOMEWARD_METRICS_TOKEN or HOMEWARD_METRICS_ADDR" in err
    assert not data_dir.exists()  # nothing started, nothing made
