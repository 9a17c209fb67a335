"""Consumer-group timing is explicit, overridable, and refuses a heartbeat that cannot work."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.exchange.kafka_settings import ConsumerGroupSettings, consumer_group_settings


def test_the_defaults_let_a_new_group_start_within_seconds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAX_POLL_INTERVAL_MS", "SESSION_TIMEOUT_MS", "HEARTBEAT_INTERVAL_MS"):
        monkeypatch.delenv(f"HOMEWARD_KAFKA_{name}", raising=False)
    assert consumer_group_settings() == {
        "max_poll_interval_ms": 5000,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1000,
    }


def test_a_value_can_be_overridden_in_code() -> None:
    assert consumer_group_settings(max_poll_interval_ms=20000)["max_poll_interval_ms"] == 20000


def test_a_value_can_be_overridden_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEWARD_KAFKA_SESSION_TIMEOUT_MS", "10000")
    assert ConsumerGroupSettings().session_timeout_ms == 10000


def test_a_heartbeat_not_below_the_session_timeout_is_refused() -> None:
    with pytest.raises(ValidationError, match="heartbeat_interval_ms"):
        ConsumerGroupSettings(heartbeat_interval_ms=6000, session_timeout_ms=6000)


@pytest.mark.parametrize("field", ["max_poll_interval_ms", "session_timeout_ms"])
def test_a_non_positive_timeout_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ConsumerGroupSettings(**{field: 0})


def test_a_non_number_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEWARD_KAFKA_MAX_POLL_INTERVAL_MS", "soon")
    with pytest.raises(ValidationError, match="max_poll_interval_ms"):
        ConsumerGroupSettings()
