"""A benchmark's PostgreSQL: an eventsourcing environment in a schema of its own, dropped
after, or None, said on the console, where the server does not answer (the figures of
SQLite are still written)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.harness.support import eventsourcing_postgres_env, fresh_schema


@contextmanager
def postgres_env(url: str) -> Iterator[dict[str, str] | None]:
    made = fresh_schema(url)
    try:
        schema = made.__enter__()
    except Exception as error:  # report, and go on with SQLite's figures
        print(f"PostgreSQL: skipped, {url} not reachable ({error})")
        yield None
        return
    try:
        yield eventsourcing_postgres_env(url, schema)
    finally:
        made.__exit__(None, None, None)
