"""The API's own tables on PostgreSQL: idempotency keys and the access log, in the
node's schema, as on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.backends.postgres import PostgresBackend
from services.tables.access import AccessLog
from services.tables.idempotency import Stored, TableIdempotency, Verdict

pytestmark = pytest.mark.postgres
AT = datetime(2025, 3, 3, 9, tzinfo=UTC)


def test_idempotency_keys_on_postgres(postgres_url: str, pg_schema: str) -> None:
    keys = TableIdempotency(PostgresBackend.of_url(f"{postgres_url}?schema={pg_schema}").tables())
    assert keys.begin("XA-NRM/ana", "k", "f1", AT).verdict is Verdict.NEW
    assert keys.begin("XA-NRM/ana", "k", "f1", AT).verdict is Verdict.BUSY
    keys.finish("XA-NRM/ana", "k", Stored(200, [("etag", '"2"')], b"{}"))
    outcome = keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert outcome.verdict is Verdict.REPLAY and outcome.stored == Stored(200, [("etag", '"2"')],
                                                                         b"{}")
    assert keys.begin("XA-NRM/ana", "k", "f2", AT).verdict is Verdict.MISMATCH


def test_the_access_log_on_postgres(postgres_url: str, pg_schema: str) -> None:
    log = AccessLog(PostgresBackend.of_url(f"{postgres_url}?schema={pg_schema}").tables())
    case_id = uuid4()
    log.record(case_id, "XA-NRM", "ana", "case", "referral", AT)
    [entry] = log.of_case(case_id)
    assert (entry.sub, entry.what, entry.purpose) == ("ana", "case", "referral")


def test_one_connection_is_kept_and_replaced_when_it_dies(postgres_url: str,
                                                          pg_schema: str) -> None:
    import psycopg

    db = PostgresBackend.of_url(f"{postgres_url}?schema={pg_schema}").tables()
    [(pid,)] = db.run("SELECT pg_backend_pid()").rows
    assert db.run("SELECT pg_backend_pid()").rows == [(pid,)]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    log = AccessLog(db)  # the next statements run, on a new connection
    log.record(uuid4(), "XA-NRM", "ana", "case", None, AT)
    assert db.run("SELECT pg_backend_pid()").rows != [(pid,)]
    db.close()
