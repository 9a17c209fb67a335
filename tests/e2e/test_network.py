"""`homeward run` serves all three nodes and Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.exchange.broker import port_is_free
from tests.harness.support import free_port


def three_free_ports() -> int:
    for _ in range(50):
        base = free_port()
        if base < 65000 and all(port_is_free(base + i) for i in range(3)):
            return base
    raise RuntimeError("no three consecutive free ports")


def children_of(pid: int) -> set[int]:
    found, frontier = set(), {pid}
    while frontier:
        parent = frontier.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        kids = {int(p) for p in path.read_text().split()} if path.exists() else set()
        frontier |= kids - found
        found |= kids
    return found


@pytest.mark.kafka
def test_run_serves_three_nodes_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    base, broker_port = three_free_ports(), free_port()
    command = [sys.executable, "-m", "services.cli", "run", "--data-dir", str(tmp_path),
               "--base-port", str(base), "--broker-port", str(broker_port), "--demo-cases", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("Try: curl" in line for line in lines):
            lines.append(process.stdout.readline())
            assert process.poll() is None, "".join(lines)
        tokens = {line.split()[0]: line.split()[-1] for line in lines if "token:" in line}
        assert set(tokens) == {"caseworker", "supervisor", "auditor", "monitor"}
        for port in (base, base + 1, base + 2):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        started = children_of(process.pid)
        assert len(started) >= 4  # the broker and three nodes
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopped." in output
    for pid in started:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert all(port_is_free(p) for p in (base, base + 1, base + 2, broker_port))
