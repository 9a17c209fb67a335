"""An agency node's side of the exchange: its relay and its inbox, each in a thread.

The composition root (services/bootstrap.py, `kafka_exchange`) builds it from the
settings, with the factories of its Kafka clients.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from services.exchange import topics
from services.exchange.clients import MakeAdmin
from services.exchange.inbox import Inbox
from services.exchange.leadership import AlwaysHeld, Role
from services.exchange.relay import Relay
from services.exchange.watching import Watch


@dataclass
class Exchange:
    relay: Relay
    inbox: Inbox
    admin: MakeAdmin  # the topics' admin client, made when the exchange starts
    replication: int = 1  # copies of each topic partition it creates
    # Partitions of the inbox it creates: the case is the key, so the replicas of a node,
    # one consumer group, share the inbox a partition each and a case stays in order.
    inbox_partitions: int = 3
    # Days the broker keeps the inbox's and the dead letters' messages (their retention.ms):
    # how long after an erasure the broker still holds the case's sealed copies.
    inbox_retention_days: int = 7
    deadletter_retention_days: int = 30
    # Who relays: the one replica holding the role (always this one, on a one-process node).
    relay_role: Role = field(default_factory=lambda: AlwaysHeld("relay"))
    # A message without a receipt this long after it first left is logged as undelivered.
    undelivered_after: timedelta = timedelta(seconds=300)
    bootstrap: str = ""  # the brokers the watch looks at, to log the connection lost and back
    _threads: list[tuple[threading.Thread, threading.Event]] = field(default_factory=list)

    def start(self) -> Exchange:
        agency = self.inbox.agency
        topics.ensure_topics(self.admin, [topics.inbox(agency)], self.replication,
                             self.inbox_partitions, self.inbox_retention_days)
        topics.ensure_topics(self.admin, [topics.deadletter(agency)], self.replication,
                             retention_days=self.deadletter_retention_days)
        self._spawn(f"{agency}-relay", lambda stop: self.relay_role.run(self.relay.run, stop))
        self._spawn(f"{agency}-inbox", self.inbox.run)
        watch = Watch(self.bootstrap, self.relay.deliveries, self.undelivered_after)
        self._spawn(f"{agency}-watch", watch.run)
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
