"""`homeward run` serves its three agencies and the monitor, and Ctrl-C stops every process
it started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from services.backends.broker import port_is_free
from tests.harness.homeward_run import HomewardRun, run_command
from tests.harness.support import children_of, live_processes, ticks_now


def launched(tmp_path: Path, *options: str) -> tuple[int, int, subprocess.Popen[str]]:
    """`homeward run` on ports of this worker's block: its base port, broker port, process."""
    base, broker_port, command = run_command(tmp_path, *options)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return base, broker_port, process


def until_serving(process: subprocess.Popen[str], timeout: float = 90) -> list[str]:
    """Its output up to "Try: curl", the last line it prints once every node answers."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any("Try: curl" in line for line in lines):
        lines.append(process.stdout.readline())
        assert process.poll() is None, "".join(lines)
    return lines


@pytest.mark.kafka
def test_run_serves_four_nodes_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    base, broker_port, process = launched(tmp_path, "--demo-cases", "2")
    try:
        lines = until_serving(process)
        tokens = {line.split()[0]: line.split()[-1] for line in lines if "token:" in line}
        assert set(tokens) == {"caseworker", "supervisor", "auditor", "monitor"}
        for port in (base, base + 1, base + 2, base + 3):  # XA, XB, the monitor, XC
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        for agency in ("XA-NRM", "XB-NRM", "XC-NRM"):
            assert any(line.startswith(agency) for line in lines), "".join(lines)
        # Both demo cases at XA-NRM, seeded through each agency's application: the first
        # stalled once referred to XB-NRM, the second (on XA-NRM -> XC-NRM, opened nine
        # months ago) home and followed up.
        worker = next(line.split()[-1] for line in lines  # XA-NRM's, listed first
                      if line.split()[:2] == ["caseworker", "token:"])
        board = httpx.get(f"http://127.0.0.1:{base}/v1/cases",
                          headers={"Authorization": f"Bearer {worker}"}).json()
        assert board["total"] == 2 and {c["status"] for c in board["items"]} == {
            "referred", "follow_up"}
        assert {c["partner"] for c in board["items"]} == {"XB-NRM", "XC-NRM"}
        assert any("seeded 2 demo cases" in line for line in lines)
        started = children_of(process.pid)
        assert len(started) >= 5  # the broker and four nodes
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopped." in output
    for pid in started:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert all(port_is_free(p) for p in (base, base + 1, base + 2, base + 3, broker_port))


def groups_of(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # it ended already
            out.add(os.getpgid(pid))
    return out


@pytest.mark.kafka
@pytest.mark.parametrize("moment", ["starting", "seeding", "nodes-starting", "serving"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_run_within_ten_seconds_at_any_moment(
    tmp_path: Path, sig: signal.Signals, moment: str,
) -> None:
    run = HomewardRun(tmp_path, "--demo-cases", "1000" if moment == "seeding" else "3")
    try:
        if moment == "starting":
            time.sleep(1.5)  # the broker starting
        elif moment == "seeding":
            run.wait_for("seeding 1000 demo cases")
            time.sleep(3.0)  # well into the thousand, the three stores opened first
        elif moment == "nodes-starting":
            run.wait_for("seeded 3 demo cases")
        else:
            run.wait_for("Try: curl")
        started = children_of(run.process.pid)
        groups = groups_of(started) | {run.process.pid}  # its own group, and each child's
        run.process.send_signal(sig)
        signalled = ticks_now()
        began = time.monotonic()
        run.process.wait(timeout=10)
        took = time.monotonic() - began
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            for pid in children_of(run.process.pid):
                os.kill(pid, signal.SIGKILL)
    assert took < 10, "".join(run.lines)
    if moment != "starting":
        assert started, "".join(run.lines)  # the broker at least
        assert run.process.returncode == 0, "".join(run.lines)
    if moment == "seeding":
        seeded = int(next(line for line in run.lines if line.startswith("seeded")).split()[1])
        assert 0 < seeded < 1000  # stopped part-way
    live = live_processes(started_before=signalled + 1)
    left = {pid: seen for pid, seen in live.items() if pid in started or seen[0] in groups}
    assert not left, left
    assert all(port_is_free(p) for p in run.ports)


@pytest.mark.kafka
def test_run_with_a_broker_store_its_broker_cannot_keep_says_so_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    base, broker_port, command = run_command(
        tmp_path, "--broker-store", "postgres://postgres@127.0.0.1:5432/test")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot keep its log in postgres" in done.stderr
    assert "no postgres storage engine" in done.stderr
    assert all(port_is_free(p) for p in (base, base + 1, base + 2, base + 3, broker_port))


@pytest.mark.kafka
def test_run_with_two_agencies_keeps_the_pair_and_its_one_corridor(tmp_path: Path) -> None:
    base, broker_port, process = launched(tmp_path, "--agencies", "2")
    try:
        lines = until_serving(process)
        for port in (base, base + 1, base + 2):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        assert port_is_free(base + 3) and not (tmp_path / "xc-nrm").exists()
        assert [line.split()[0] for line in lines if line.startswith(("XA", "XB", "XC", "mon"))
                ] == ["XA-NRM", "XB-NRM", "monitor"]
        corridors = json.loads((tmp_path / "directory.json").read_text())["corridors"]
        assert [(c["referring"], c["receiving"]) for c in corridors] == [("XA-NRM", "XB-NRM")]
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert all(port_is_free(p) for p in (base, base + 1, base + 2, broker_port))
