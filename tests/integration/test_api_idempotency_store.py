"""The idempotency store over SQLite: reserve, replay, refuse a reused key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.api.idempotency import STALE, SidecarIdempotency, Stored, Verdict
from services.api.sidecar import SQLiteSidecar

AT = datetime(2025, 3, 3, 9, tzinfo=UTC)
ANSWER = Stored(201, [("content-type", "application/json"), ("location", "/v1/cases/1")],
                b'{"id": "1"}')


@pytest.fixture
def keys(tmp_path: Path) -> SidecarIdempotency:
    return SidecarIdempotency(SQLiteSidecar(tmp_path / "api.sqlite"))


def test_a_new_key_is_reserved_then_replayed(keys: SidecarIdempotency) -> None:
    assert keys.begin("XA-NRM/ana", "k", "f1", AT).verdict is Verdict.NEW
    keys.finish("XA-NRM/ana", "k", ANSWER)
    outcome = keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert outcome.verdict is Verdict.REPLAY and outcome.stored == ANSWER


def test_the_key_with_another_request_is_a_mismatch(keys: SidecarIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert keys.begin("XA-NRM/ana", "k", "f2", AT).verdict is Verdict.MISMATCH


def test_a_running_request_is_busy_until_it_goes_stale(keys: SidecarIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert keys.begin("XA-NRM/ana", "k", "f1", AT + timedelta(seconds=1)).verdict is Verdict.BUSY
    later = AT + STALE + timedelta(seconds=1)
    assert keys.begin("XA-NRM/ana", "k", "f1", later).verdict is Verdict.NEW
    assert keys.begin("XA-NRM/ana", "k", "f1", later).verdict is Verdict.BUSY


def test_an_abandoned_key_is_free_again(keys: SidecarIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    keys.abandon("XA-NRM/ana", "k")
    assert keys.begin("XA-NRM/ana", "k", "f2", AT).verdict is Verdict.NEW


def test_keys_are_per_caller(keys: SidecarIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    assert keys.begin("XA-NRM/ben", "k", "f2", AT).verdict is Verdict.NEW


def test_a_kept_response_is_not_abandoned(keys: SidecarIdempotency) -> None:
    keys.begin("XA-NRM/ana", "k", "f1", AT)
    keys.finish("XA-NRM/ana", "k", ANSWER)
    keys.abandon("XA-NRM/ana", "k")
    assert keys.begin("XA-NRM/ana", "k", "f1", AT).verdict is Verdict.REPLAY


def test_what_is_stored_is_committed_for_the_next_process(tmp_path: Path) -> None:
    first = SQLiteSidecar(tmp_path / "api.sqlite")
    SidecarIdempotency(first).begin("XA-NRM/ana", "k", "f1", AT)
    SidecarIdempotency(first).finish("XA-NRM/ana", "k", ANSWER)
    first.close()
    again = SidecarIdempotency(SQLiteSidecar(tmp_path / "api.sqlite")).begin("XA-NRM/ana", "k", "f1", AT)
    assert again.verdict is Verdict.REPLAY and again.stored == ANSWER
