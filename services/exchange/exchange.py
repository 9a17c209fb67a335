"""An agency node's side of the exchange: its relay and its inbox, each in a thread.

The composition root (services/bootstrap.py, `kafka_exchange`) builds it from the
settings, with its Kafka clients.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.exchange import topics
from services.exchange.inbox import Inbox
from services.exchange.relay import Relay


@dataclass
class Exchange:
    relay: Relay
    inbox: Inbox
    bootstrap: str
    client: Mapping[str, Any] = field(default_factory=dict)
    replication: int = 1  # copies of each topic partition it creates
    _threads: list[tuple[threading.Thread, threading.Event]] = field(default_factory=list)

    def start(self) -> Exchange:
        agency = self.inbox.agency
        topics.ensure_topics(self.bootstrap, [topics.inbox(agency), topics.deadletter(agency)],
                             self.client, self.replication)
        for name, run in (("relay", self.relay.run), ("inbox", self.inbox.run)):
            self._spawn(f"{agency}-{name}", run)
        return self

    def _spawn(self, name: str, run: Callable[[threading.Event], None]) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=run, args=(stop,), name=name, daemon=True)
        thread.start()
        self._threads.append((thread, stop))

    def ready(self) -> bool:
        """The inbox has its partitions (the relay's lag is reported apart)."""
        return self.inbox.assigned

    def stop(self, timeout: float = 10.0) -> None:
        for _, stop in self._threads:
            stop.set()
        for thread, _ in self._threads:
            thread.join(timeout)
        self._threads.clear()
