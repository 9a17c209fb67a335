"""Session fixtures for the real services: a Kafka-compatible broker and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.harness.stores import plain_env, store_env
from tests.harness.support import (
    DEFAULT_POSTGRES_URL,
    docker_answers,
    eventsourcing_postgres_env,
    fresh_schema,
    kafka_container,
    local_broker,
    missing_service,
    postgres_accepts,
    postgres_container,
    quick_group_joins,
)

__all__ = ["plain_env", "store_env"]  # a store on each backend, for every test


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker list: the given one, else Kafka in Docker, else the local broker process."""
    given = os.environ.get("HOMEWARD_TEST_KAFKA_BOOTSTRAP")
    if given:
        yield given
    elif docker_answers():
        with kafka_container() as bootstrap:
            yield bootstrap
    else:
        with local_broker(tmp_path_factory.mktemp("broker")) as bootstrap, \
                quick_group_joins():
            yield bootstrap


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL: the given one, else the local server, else PostgreSQL in Docker."""
    given = os.environ.get("HOMEWARD_TEST_POSTGRES_URL")
    if given:
        yield given
    elif postgres_accepts(DEFAULT_POSTGRES_URL):
        yield DEFAULT_POSTGRES_URL
    elif docker_answers():
        with postgres_container() as url:
            yield url
    else:
        missing_service(
            f"no PostgreSQL: {DEFAULT_POSTGRES_URL} refused and no Docker engine answers"
        )


@pytest.fixture
def pg_schemas(postgres_url: str) -> Iterator[Callable[[], str]]:
    """Makes fresh schemas for one test, each dropped with everything in it afterwards."""
    with ExitStack() as made:
        yield lambda: made.enter_context(fresh_schema(postgres_url))


@pytest.fixture
def pg_schema(pg_schemas: Callable[[], str]) -> str:
    """A fresh schema of its own for one test."""
    return pg_schemas()


@pytest.fixture
def pg_schema_b(pg_schemas: Callable[[], str]) -> str:
    """A second fresh schema, for a second node's store in the same test."""
    return pg_schemas()


@pytest.fixture
def pg_env(postgres_url: str, pg_schema: str) -> dict[str, str]:
    """The eventsourcing environment for an application stored in this test's schema."""
    return eventsourcing_postgres_env(postgres_url, pg_schema)
