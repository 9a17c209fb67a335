"""An inbox stopping while the broker is away: what its answers' producer still holds is
logged, not raised in the inbox's thread (its senders send again what has no receipt)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services.backends.broker import LocalBroker
from services.backends.kafka import Kafka
from services.exchange.answers import Answers
from tests.harness.support import free_port


def test_answers_held_for_a_broker_away_are_logged_as_the_inbox_closes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broker = LocalBroker(port=free_port(), log_dir=tmp_path).start()
    made: list[KafkaProducer] = []

    def producer() -> KafkaProducer:
        made.append(Kafka(broker.bootstrap).producer())
        return made[-1]

    answers = Answers("XB-NRM", producer, None, lambda fact: ("XA-NRM", "XB-NRM"))
    try:
        held = answers.producer.get()
        held.send("homeward.inbox.xa-nrm", b"a receipt").get(timeout=10)  # metadata known
    finally:
        broker.stop()
    held.send("homeward.inbox.xa-nrm", b"a receipt the broker never gets")
    with caplog.at_level(logging.WARNING, logger="services.exchange.answers"):
        answers.close()  # raised KafkaTimeoutError before
    assert "answers not delivered as it closed" in caplog.text
    assert not answers.producer.made
