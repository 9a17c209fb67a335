"""The PostgreSQL fixtures reach a real server and keep each test in its own schema."""

from __future__ import annotations

from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from tests.harness.support import eventsourcing_postgres_env


@pytest.mark.postgres
def test_postgres_answers_a_real_query(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT 6 * 7, current_setting('server_version_num')::int").fetchone()
    assert row is not None
    answer, version = row
    assert answer == 42
    assert version >= 120000


@pytest.mark.postgres
def test_each_test_gets_an_empty_schema_of_its_own(postgres_url: str, pg_schema: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        owned = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (pg_schema,)
        ).fetchone()
        exists = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (pg_schema,)
        ).fetchone()
    assert exists == (1,)
    assert owned == (0,)


@pytest.mark.postgres
def test_an_eventsourcing_application_stores_events_in_the_test_schema(
    postgres_url: str, pg_env: dict[str, str]
) -> None:
    app: Application[UUID] = Application(env={**pg_env, "CREATE_TABLE": "y"})
    aggregate = Aggregate()
    app.save(aggregate)
    assert app.repository.get(aggregate.id).id == aggregate.id
    app.close()
    with psycopg.connect(postgres_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            (pg_env["POSTGRES_SCHEMA"],),
        ).fetchone()
    assert tables is not None and tables[0] >= 1


def test_the_eventsourcing_environment_is_read_from_the_url() -> None:
    env = eventsourcing_postgres_env("postgresql://ana:s%40fe@db.example:6543/homeward", "t1")
    assert env == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "homeward",
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "ana",
        "POSTGRES_PASSWORD": "s@fe",
        "POSTGRES_SCHEMA": "t1",
    }


def test_a_url_without_password_or_port_gets_the_defaults() -> None:
    env = eventsourcing_postgres_env("postgresql://postgres@127.0.0.1/test", "t2")
    assert (env["POSTGRES_PASSWORD"], env["POSTGRES_PORT"]) == ("", "5432")


def test_a_url_that_is_not_postgresql_is_refused() -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        eventsourcing_postgres_env("sqlite:///var/xa.db", "t3")
