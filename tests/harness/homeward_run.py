"""`homeward run`, the whole embedded network, started by a test as an operator starts it:
on ports of this worker's block, its output read as it comes, and waited on while it lives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

from tests.harness.support import free_port, free_ports

T = TypeVar("T")


def run_command(data_dir: Path, *options: str) -> tuple[int, int, list[str]]:
    """`homeward run`'s command line on free ports: its base port, broker port, command."""
    base, broker_port = free_ports(4), free_port()
    command = [sys.executable, "-m", "services.cli", "run", "--data-dir", str(data_dir),
               "--base-port", str(base), "--broker-port", str(broker_port), *options]
    return base, broker_port, command


class HomewardRun:
    """`homeward run` in a session of its own, its output read by a thread as it comes."""

    def __init__(self, data_dir: Path, *options: str) -> None:
        self.base, self.broker_port, command = run_command(data_dir, *options)
        self.ports = (self.base, self.base + 1, self.base + 2, self.base + 3, self.broker_port)
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self, last: int = 60) -> str:
        return "".join(self.lines[-last:])

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_for(self, text: str, timeout: float = 90) -> None:
        """Until a line of its output holds `text`; fails if it ends first."""
        deadline = time.monotonic() + timeout
        while not self.said(text):
            assert time.monotonic() < deadline and self.process.poll() is None, "".join(self.lines)
            time.sleep(0.05)

    def eventually(self, check: Callable[[], T | None], within: float, what: str) -> T:
        """What `check` returns once it is truthy (an HTTP error counts as not yet), asked
        every half second while the run lives; fails after `within` seconds, with `what`
        and the run's last output."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                found = check()
            except httpx.HTTPError:
                found = None
            if found:
                return found
            time.sleep(0.5)
        raise AssertionError(f"not within {within:g} s: {what}\n{self.output()}")

    def stop(self, timeout: float = 30) -> None:
        """Ctrl-C, as an operator stops it; its whole session killed if it does not end."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.reader.join(timeout=5)
