"""The idempotency store over SQLite: reserve, replay, refuse a reused key."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.backends.sqlite import SQLiteTables
from services.tables.idempotency import KEEP, STALE, KeyPurge, Stored, TableIdempotency, Verdict

AT = datetime(2025, 3, 3, 9, tzinfo=UTC)
ANSWER = Stored(201, [("content-type", "application/json"), ("location", "/v1/cases/1")],
                b'{"id": "1"}')


@pytest.fixture
def keys(tmp_path: Path) -> TableIdempotency:
    return TableIdempotency(SQLiteTables(tmp_path / "api.sqlite"))


def test_a_new_key_is_reserved_then_replayed(keys: TableIdempotency) -> None:
    assert keys.begin("XA-NRM/ana", "k", "f1", AT).verdict is Verdict.NEW
    keys.finish("XA-NRM/ana", "k", ANSWER)
    outcome = keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert outcome.verdict is Verdict.REPLAY and outcome.stored == ANSWER


def test_the_key_with_another_request_is_a_mismatch(keys: TableIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert keys.begin("XA-NRM/ana", "k", "f2", AT).verdict is Verdict.MISMATCH


def test_a_running_request_is_busy_until_it_goes_stale(keys: TableIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert keys.begin("XA-NRM/ana", "k", "f1", AT + timedelta(seconds=1)).verdict is Verdict.BUSY
    later = AT + STALE + timedelta(seconds=1)
    assert keys.begin("XA-NRM/ana", "k", "f1", later).verdict is Verdict.NEW
    assert keys.begin("XA-NRM/ana", "k", "f1", later).verdict is Verdict.BUSY


def test_an_abandoned_key_is_free_again(keys: TableIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    keys.abandon("XA-NRM/ana", "k")
    assert keys.begin("XA-NRM/ana", "k", "f2", AT).verdict is Verdict.NEW


def test_keys_are_per_caller(keys: TableIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert keys.begin("XA-NRM/ben", "k", "f2", AT).verdict is Verdict.NEW


def test_a_kept_response_is_not_abandoned(keys: TableIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    keys.finish("XA-NRM/ana", "k", ANSWER)
    keys.abandon("XA-NRM/ana", "k")
    assert keys.begin("XA-NRM/ana", "k", "f1", AT).verdict is Verdict.REPLAY


def test_what_is_stored_is_committed_for_the_next_process(tmp_path: Path) -> None:
    first = SQLiteTables(tmp_path / "api.sqlite")
    TableIdempotency(first).begin("XA-NRM/ana", "k", "f1", AT)
    TableIdempotency(first).finish("XA-NRM/ana", "k", ANSWER)
    first.close()
    again = TableIdempotency(SQLiteTables(tmp_path / "api.sqlite")).begin("XA-NRM/ana", "k", "f1", AT)
    assert again.verdict is Verdict.REPLAY and again.stored == ANSWER


def test_a_key_expires_a_day_after_its_reservation(keys: TableIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    keys.finish("XA-NRM/ana", "k", ANSWER)
    assert keys.begin("XA-NRM/ana", "k", "f1", AT + KEEP - timedelta(seconds=1)).verdict is \
        Verdict.REPLAY
    assert keys.begin("XA-NRM/ana", "k", "f2", AT + KEEP + timedelta(seconds=1)).verdict is \
        Verdict.NEW  # forgotten: even another request may use it now


def test_the_purge_deletes_only_expired_keys(keys: TableIdempotency) -> None:
    for n, hours in enumerate((30, 25, 23, 1)):
        keys.begin("XA-NRM/ana", f"k{n}", "f", AT - timedelta(hours=hours))
        keys.finish("XA-NRM/ana", f"k{n}", ANSWER)
    assert keys.purge(AT) == 2
    assert keys.purge(AT) == 0
    rows = keys.db.run(f"SELECT key FROM {keys.t} ORDER BY key").rows
    assert [r[0] for r in rows] == ["k2", "k3"]


def test_a_shorter_lifetime_is_honoured(tmp_path: Path) -> None:
    keys = TableIdempotency(SQLiteTables(tmp_path / "api.sqlite"), keep=timedelta(hours=1))
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    keys.finish("XA-NRM/ana", "k", ANSWER)
    assert keys.purge(AT + timedelta(minutes=59)) == 0
    assert keys.purge(AT + timedelta(minutes=61)) == 1


def test_the_background_purge_runs_at_start_and_then_again(keys: TableIdempotency) -> None:
    now = [AT]
    keys.begin("XA-NRM/ana", "old", "f", AT - timedelta(hours=25))
    purge = KeyPurge(keys, lambda: now[0], every=timedelta(milliseconds=20)).start()
    try:
        wait_until(lambda: not keys.db.run(f"SELECT 1 FROM {keys.t}").rows)
        keys.begin("XA-NRM/ana", "new", "f", AT)
        now[0] = AT + timedelta(hours=25)
        wait_until(lambda: not keys.db.run(f"SELECT 1 FROM {keys.t}").rows)
    finally:
        purge.stop()
    assert not purge._thread.is_alive()


def wait_until(done: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not purged in time"
        time.sleep(0.01)
