"""Helpers for tests that need real services: ports, Docker, PostgreSQL, Kafka."""

from __future__ import annotations

import contextlib
import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

from services.backends.broker import LocalBroker, port_is_free
from services.backends.postgres import postgres_env

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def services_required() -> bool:
    """In CI a missing service is a failure, not a reason to skip."""
    return os.environ.get("HOMEWARD_REQUIRE_SERVICES") == "1"


def missing_service(reason: str) -> NoReturn:
    """Skip the test, or fail it when HOMEWARD_REQUIRE_SERVICES=1 (CI)."""
    if services_required():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def docker_answers(timeout: float = 2.0) -> bool:
    """True only if a Docker engine answers a ping quickly; never hangs the session."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker

        client = docker.from_env(timeout=int(max(timeout, 1)))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # DockerException, connection refused, timeouts: all mean "no"
        return False


def postgres_accepts(url: str, timeout: int = 2) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=timeout):
            return True
    except psycopg.Error:
        return False


@contextmanager
def kafka_container() -> Iterator[str]:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # testcontainers before the "community" layout
        from testcontainers.kafka import KafkaContainer
    with KafkaContainer().with_kraft() as kafka:
        yield kafka.get_bootstrap_server()


@contextmanager
def postgres_container() -> Iterator[str]:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        from testcontainers.postgres import PostgresContainer
    with PostgresContainer("postgres:16-alpine", driver=None) as postgres:
        yield postgres.get_connection_url()


@contextmanager
def local_broker(log_dir: Path) -> Iterator[str]:
    with LocalBroker(port=free_port(), log_dir=log_dir) as broker:
        yield broker.bootstrap


# The local broker holds a group's JoinGroup for about half the session timeout, capped at
# 3 s (services/exchange/kafka_settings.py). Against it, the tests' consumers (and the
# nodes and `homeward run` processes they start, which inherit the environment) keep a 2 s
# session with a heartbeat every 400 ms: a join takes 1 s instead of 3. Apache Kafka
# refuses sessions under its 6 s minimum, so the tests on a Kafka container keep the
# defaults. A value already in the environment is left as it is.
QUICK_GROUP_JOINS = {
    "HOMEWARD_KAFKA_SESSION_TIMEOUT_MS": "2000",
    "HOMEWARD_KAFKA_HEARTBEAT_INTERVAL_MS": "400",
}


@contextmanager
def quick_group_joins() -> Iterator[None]:
    added = {name: value for name, value in QUICK_GROUP_JOINS.items()
             if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def unique_schema_name(prefix: str = "test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@contextmanager
def fresh_schema(url: str, name: str | None = None) -> Iterator[str]:
    """A PostgreSQL schema of its own (`name`, else a unique one), dropped with everything
    in it on leaving: the one way tests and benchmarks make a schema."""
    import psycopg
    from psycopg import sql

    name = name or unique_schema_name()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(name)))


def eventsourcing_postgres_env(url: str, schema: str) -> dict[str, str]:
    """The environment eventsourcing's `postgres` module reads, from a PostgreSQL URL."""
    if urlsplit(url).scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return {**postgres_env(url), "POSTGRES_SCHEMA": schema}


# The kernel hands out ports for bind(0) and for every outgoing connection from its
# ephemeral range (32768-60999 by default): a port found free there, closed and bound a
# moment later by a broker or a node, can be taken in between by any client's connection,
# or by another pytest-xdist worker's probe. The tests' servers take their ports from below
# that range instead, each worker from a block of its own, walked in order from a random
# place (two runs on one machine start apart), so no two workers of a run, and no two
# servers of one worker until the block wraps around, are ever given the same port.
PORTS = range(10000, 32000)


def worker_block(worker: str | None = None, count: int | None = None) -> range:
    """The ports of this pytest-xdist worker (`gw0`, `gw1`, ...); all of them without one."""
    worker = worker or os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = count or int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    size = len(PORTS) // count
    first = PORTS.start + int(worker.removeprefix("gw")) * size
    return range(first, first + size)


class PortCursor:
    def __init__(self) -> None:
        self.block: range | None = None
        self.next = 0

    def take(self, count: int) -> int:
        """The first of `count` consecutive ports of the block, free now; moves past them."""
        block = worker_block()
        if block != self.block:
            self.block, self.next = block, random.SystemRandom().randrange(len(block))
        for _ in range(len(block)):
            offset = self.next if self.next + count <= len(block) else 0
            if all(port_is_free(block.start + offset + i) for i in range(count)):
                self.next = offset + count
                return block.start + offset
            self.next = offset + 1
        raise AssertionError(f"no {count} consecutive free ports in {block}")


_cursor = PortCursor()


def free_port() -> int:
    """A port nobody listens on, from this worker's block, not handed out before."""
    return _cursor.take(1)


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports that are free now (a network's nodes)."""
    return _cursor.take(count)


def children_of(pid: int) -> set[int]:
    """Every process descended from `pid`, read from /proc."""
    found, frontier = set(), {pid}
    while frontier:
        parent = frontier.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        kids = {int(p) for p in path.read_text().split()} if path.exists() else set()
        frontier |= kids - found
        found |= kids
    return found


def ticks_now() -> int:
    """Now, in the clock ticks since boot that /proc/<pid>/stat gives a start time in."""
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def live_processes(started_before: int) -> dict[int, tuple[int, str]]:
    """Every live process that started before the tick `started_before`: its group and
    command line. Zombies are left out (they run nothing; an orphan waits for an init
    that may never reap it), and so are processes started later: on a busy machine with
    32,768 pids, a pid (and so a group id) is soon given to someone else."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):  # it ended while being read
            text = stat.read_text()
            fields = text[text.rindex(")") + 2:].split()
            state, group, started = fields[0], int(fields[2]), int(fields[19])
            if state != "Z" and started < started_before:
                cmdline = stat.with_name("cmdline").read_text().replace("\0", " ")
                found[int(stat.parent.name)] = (group, cmdline)
    return found
