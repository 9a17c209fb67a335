"""The network under soak: `homeward run` as a subprocess, with its own data directory and
its own free ports, its output kept, its members found by their command lines (the broker,
each node) and their memory read from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.backends.broker import free_port, port_is_free
from services.network.members import Member, members

NODES = ("XA-NRM", "XB-NRM", "monitor")
BROKER = "broker"


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive ports nobody listens on now."""
    for _ in range(50):
        first = free_port()
        if first < 65536 - count and all(port_is_free(first + i) for i in range(1, count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        parent = frontier.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        try:
            kids = {int(p) for p in path.read_text().split()}
        except OSError:
            kids = set()
        frontier |= kids - found
        found |= kids
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_kib(pid: int) -> int | None:
    """The process's resident memory (VmRSS), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Network:
    """`homeward run` under soak; `start` returns once its nodes answer."""

    data_dir: Path
    broker_store: str | None = None
    base_port: int = 0
    broker_port: int = 0
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)
    peaks: dict[str, int] = field(default_factory=dict)  # KiB, per member

    def start(self, timeout: float = 120.0) -> Network:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.base_port, self.broker_port = consecutive_free_ports(3), free_port()
        command = [sys.executable, "-m", "services.cli", "run", "--data-dir", str(self.data_dir),
                   "--base-port", str(self.base_port), "--broker-port", str(self.broker_port),
                   "--agencies", "2"]
        if self.broker_store:
            command += ["--broker-store", self.broker_store]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self.said("Try: curl"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("homeward run did not start:\n" + "".join(self.lines[-40:]))
            time.sleep(0.1)
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def said(self, text: str) -> int:
        """How many lines of the output hold `text`."""
        return sum(text in line for line in list(self.lines))

    @property
    def members(self) -> dict[str, Member]:
        return {m.agency: m for m in members(self.data_dir.resolve(), self.base_port, agencies=2)}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def pids(self) -> dict[str, int]:
        """The running broker's and each node's process id, as they are now."""
        assert self.process is not None
        found: dict[str, int] = {}
        ports = {str(m.port): name for name, m in self.members.items()}
        for pid in descendants(self.process.pid):
            line = command_line(pid)
            if "--listener-url" in line:
                found[BROKER] = pid
            elif " serve --port " in line:
                name = ports.get(line.split()[-1])
                if name is not None:
                    found[name] = pid
        return found

    def sample_memory(self) -> dict[str, int]:
        """Each member's resident memory now (KiB); the peaks are kept."""
        now = {}
        for name, pid in self.pids().items():
            kib = rss_kib(pid)
            if kib is not None:
                now[name] = kib
                self.peaks[name] = max(self.peaks.get(name, 0), kib)
        return now

    def signal(self, member: str, sig: signal.Signals) -> int | None:
        pid = self.pids().get(member)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pid

    def wait_running(self, member: str, timeout: float = 60.0, other_than: int | None = None
                     ) -> bool:
        """The member is running (again: in a process other than `other_than`) and, for a
        node, answers."""
        import httpx

        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1) as client:  # one for the wait, its certificates once
            while time.monotonic() < deadline:
                pid = self.pids().get(member)
                if pid is not None and pid != other_than and rss_kib(pid) is not None:
                    if member == BROKER:
                        return True
                    try:
                        if client.get(f"{self.members[member].url}/healthz").is_success:
                            return True
                    except httpx.HTTPError:
                        pass
                time.sleep(0.3)
        return False

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGINT, as Ctrl-C: the network stops in order; killed if it does not."""
        process = self.process
        if process is None:
            return None
        started = descendants(process.pid)
        for pid in started:  # a node left paused would never stop
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            for pid in started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait()
        return process.returncode
