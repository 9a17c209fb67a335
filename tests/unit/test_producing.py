"""The one producer the relay and the inbox's answers each send on: made once needed, made
afresh after a failure, its closing failure never taking the place of the first error.
Producers here are small fakes that say whether they were closed."""

from __future__ import annotations

import logging

import pytest

from services.exchange.producing import LazyProducer


class Producer:
    def __init__(self, close_fails: bool = False) -> None:
        self.close_fails, self.closed = close_fails, False

    def close(self, timeout: float | None = None) -> None:
        self.closed = True
        if self.close_fails:
            raise ConnectionError("the broker is gone")


class Factory:
    """Makes producers, keeping each; `close_fails` for those it makes from now on."""

    def __init__(self) -> None:
        self.made: list[Producer] = []
        self.close_fails = False

    def __call__(self) -> Producer:
        self.made.append(Producer(self.close_fails))
        return self.made[-1]


def test_the_producer_is_made_once_when_first_needed() -> None:
    factory = Factory()
    producer = LazyProducer(factory, "relay")  # type: ignore[arg-type]
    assert factory.made == [] and not producer.made
    first = producer.get()
    assert producer.get() is first and factory.made == [first] and producer.made


def test_a_producer_that_cannot_be_made_now_is_made_on_the_next_send() -> None:
    attempts: list[int] = []

    def broker_away_once() -> Producer:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("no broker yet")
        return Producer()

    producer = LazyProducer(broker_away_once, "relay")  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        producer.get()
    assert isinstance(producer.get(), Producer) and len(attempts) == 2


def test_reset_closes_the_producer_and_the_next_send_makes_another() -> None:
    factory = Factory()
    producer = LazyProducer(factory, "inbox")  # type: ignore[arg-type]
    producer.reset()  # none yet: nothing to close, nothing made
    assert factory.made == []
    first = producer.get()
    producer.reset()
    assert first.closed and not producer.made
    assert producer.get() is not first and len(factory.made) == 2


def test_a_broken_producer_that_fails_to_close_is_dropped_without_hiding_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    factory = Factory()
    factory.close_fails = True
    producer = LazyProducer(factory, "relay")  # type: ignore[arg-type]
    broken = producer.get()
    with caplog.at_level(logging.DEBUG, logger="services.exchange.producing"):
        producer.reset()  # raises nothing: the caller's own error is the one that counts
    assert broken.closed and not producer.made
    [record] = caplog.records
    assert record.levelno == logging.DEBUG and record.getMessage() == \
        "relay: closing the producer failed" and record.exc_info is not None
    factory.close_fails = False
    assert producer.get() is not broken


def test_closing_for_good_says_when_the_producer_would_not_close() -> None:
    factory = Factory()
    factory.close_fails = True
    producer = LazyProducer(factory, "inbox")  # type: ignore[arg-type]
    producer.close()  # none made: nothing to close
    producer.get()
    with pytest.raises(ConnectionError):
        producer.close()
    assert not producer.made  # not closed twice
