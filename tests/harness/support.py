"""Helpers for tests that need real services: ports, Docker, PostgreSQL, Kafka."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

from services.exchange.broker import LocalBroker, free_port, port_is_free
from services.settings import postgres_env

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


def unique_schema_name(prefix: str = "test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def eventsourcing_postgres_env(url: str, schema: str) -> dict[str, str]:
    """The environment eventsourcing's `postgres` module reads, from a PostgreSQL URL."""
    if urlsplit(url).scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return {**postgres_env(url), "POSTGRES_SCHEMA": schema}


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports that are free now (a network's nodes)."""
    for _ in range(50):
        first = free_port()
        if first < 65536 - count and all(port_is_free(first + i) for i in range(1, count)):
            return first
    raise AssertionError(f"no {count} consecutive free ports")


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
