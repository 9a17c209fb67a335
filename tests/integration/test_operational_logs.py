"""What a node logs as it happens, one line each: the broker lost and back (a real local
broker stopped and started again on its port), a message still without a receipt past
its threshold (the node's real deliveries table), an erasure done; and how the lines
read (JSON with the node, or text)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from services.backends.broker import LocalBroker
from services.backends.sqlite import SQLiteTables
from services.exchange.watching import Watch
from services.logs import events
from services.tables.deliveries import Deliveries, Sent
from tests.harness.support import free_port


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Every line the process logs, as `configure` writes them to standard error."""
    monkeypatch.setenv("HOMEWARD_LOG_FORMAT", "json")
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    events.configure("XA-NRM@test")
    try:
        yield out
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_broker_lost_and_back_is_said_once_each(tmp_path: Path, logged: io.StringIO
                                                     ) -> None:
    broker = LocalBroker(port=free_port(), log_dir=tmp_path / "broker").start()
    watch = Watch(broker.bootstrap, None, timedelta(minutes=5))
    try:
        watch.look()
        assert lines(logged) == []  # up from the start: nothing to tell
        broker.stop()
        watch.look()
        watch.look()
        broker.start()
        watch.look()
        watch.look()
    finally:
        broker.stop()
    said = [(line["event"], line["node"], line["level"]) for line in lines(logged)]
    assert said == [("broker connection lost", "XA-NRM@test", "warning"),
                    ("broker connection back", "XA-NRM@test", "info")]
    assert isinstance(lines(logged)[1]["away_seconds"], float)


def test_a_message_without_a_receipt_past_its_threshold_is_said_once(
        tmp_path: Path, logged: io.StringIO) -> None:
    now = datetime.now(UTC)
    deliveries = Deliveries(SQLiteTables(tmp_path / "api.sqlite"))
    late, fresh = (Sent(str(uuid4()), uuid4(), v, "XB-NRM") for v in (1, 2))
    deliveries.sending([late], now - timedelta(minutes=10), now)
    deliveries.sending([fresh], now, now)
    watch = Watch(f"127.0.0.1:{free_port()}", deliveries, timedelta(minutes=5),
                  now=lambda: now)
    watch.broker_up = False  # only the deliveries are looked at here
    watch.look()
    watch.look()
    said = [line for line in lines(logged) if line["event"] != "broker connection lost"]
    assert [(s["event"], s["message_id"], s["recipient"]) for s in said] == [
        ("message undelivered past its threshold", late.message_id, "XB-NRM")]
    assert str(late.case_id) not in logged.getvalue()  # the message's id, not the case's


def test_text_lines_name_the_node_and_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEWARD_LOG_FORMAT", "text")
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        events.configure("XB-NRM@host:8002")
        events.subscription_delivery_failing("sub-7", "http 503", 4)
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
    [line] = out.getvalue().splitlines()
    assert " WARNING XB-NRM@host:8002 subscription delivery failing  subscription=sub-7 " \
           "reason=http 503 attempts=4" in line
