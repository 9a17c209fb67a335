"""One Kafka producer, made when first needed and made afresh after a failure: the relay's
(services/exchange/relay.py) and the inbox's answers (services/exchange/answers.py).

A producer that lost its broker may hold stale state (idempotence, a batch it will never
send): `reset` closes it, and the next send makes another. Closing a broken client may
fail as well; that failure is logged, never raised, so the error that made the caller
reset stays the one it sees.
"""

from __future__ import annotations

import logging

from services.exchange.clients import MakeProducer, Producer

log = logging.getLogger(__name__)


class LazyProducer:
    """The producer `make` makes, once needed; `who` names its user in the log."""

    def __init__(self, make: MakeProducer, who: str) -> None:
        self.make, self.who = make, who
        self._producer: Producer | None = None

    @property
    def made(self) -> bool:
        return self._producer is not None

    def get(self) -> Producer:
        """The producer, made now if there is none (which may fail: no broker yet)."""
        if self._producer is None:
            self._producer = self.make()
        return self._producer

    def reset(self) -> None:
        """The producer closed, if there is one; the next `get` makes another."""
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:  # closing a broken client must not hide what happened
                log.debug("%s: closing the producer failed", self.who, exc_info=True)

    def close(self) -> None:
        """The producer closed, for good; a failure to close is raised."""
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=1)
