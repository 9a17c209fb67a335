"""Consumer-group timing, explicit rather than kafka-python's defaults.

Why not the defaults: the local broker holds a new group's first JoinGroup for about half
the session timeout (measured: 6 s -> 3 s, 10 s -> 5 s, kafka-python's default 45 s -> 23 s,
whatever `max_poll_interval_ms`). Apache Kafka waits for members to (re)join a rebalance
up to the rebalance timeout, which kafka-python sets to `max_poll_interval_ms` (300 s by
default). These values let an inbox consumer start, or take over, within seconds on both;
6 s is also Apache Kafka's default minimum session timeout. The price: handling one
poll's batch must take less than `max_poll_interval_ms`, or the member is dropped from the
group and its partitions move.

Each value can be overridden from the environment, e.g. HOMEWARD_KAFKA_MAX_POLL_INTERVAL_MS.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsumerGroupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMEWARD_KAFKA_", frozen=True)

    max_poll_interval_ms: int = Field(default=5000, gt=0)
    session_timeout_ms: int = Field(default=6000, gt=0)
    heartbeat_interval_ms: int = Field(default=1000, gt=0)

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> ConsumerGroupSettings:
        # A member that heartbeats less often than its session timeout is declared dead.
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ValueError(
                f"heartbeat_interval_ms ({self.heartbeat_interval_ms}) must be lower than "
                f"session_timeout_ms ({self.session_timeout_ms})"
            )
        return self

    def as_kafka_config(self) -> dict[str, int]:
        """Keyword arguments for `kafka.KafkaConsumer`."""
        return {
            "max_poll_interval_ms": self.max_poll_interval_ms,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
        }


def consumer_group_settings(**overrides: int) -> dict[str, int]:
    """The group timing for `KafkaConsumer(**consumer_group_settings(), group_id=...)`."""
    return ConsumerGroupSettings(**overrides).as_kafka_config()
