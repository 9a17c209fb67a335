"""The ports the tests' servers listen on: each pytest-xdist worker's from a block of its
own, below the kernel's ephemeral range, never the same one twice."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.harness.support import PORTS, PortCursor, worker_block


def ephemeral_range() -> range:
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def test_the_workers_blocks_are_apart_and_below_the_ephemeral_range() -> None:
    blocks = [worker_block(f"gw{i}", 4) for i in range(4)]
    ports = [p for b in blocks for p in b]
    assert len(ports) == len(set(ports)) and set(ports) <= set(PORTS)
    assert PORTS.stop <= ephemeral_range().start
    assert worker_block("gw0", 1) == PORTS  # one process alone: all of them


def test_a_worker_hands_out_ports_of_its_block_and_never_one_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
    cursor = PortCursor()
    singles = [cursor.take(1) for _ in range(200)]
    firsts = [cursor.take(3) for _ in range(20)]
    handed = singles + [f + i for f in firsts for i in range(3)]
    assert len(handed) == len(set(handed))
    assert set(handed) <= set(worker_block("gw1", 3))


def test_a_port_someone_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    cursor = PortCursor()
    ahead = cursor.take(1) + 1  # the next one it would give
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ahead))
        squatter.listen()
        assert cursor.take(1) != ahead
