"""An agency node's side of the exchange: its relay and its inbox, each in a thread.

The composition root builds it from the settings: the key pair in the data dir (made on
first start), the trust directory (HOMEWARD_DIRECTORY or the data dir's file), the broker
list and any client options a cluster needs (SASL, TLS).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.application import Homeward
from services.exchange import topics
from services.exchange.directory import DirectoryFile, directory_path
from services.exchange.inbox import Inbox, consumer
from services.exchange.kafka_settings import consumer_group_settings
from services.exchange.keys import SigningKey, load_or_create
from services.exchange.relay import Relay


@dataclass
class Exchange:
    relay: Relay
    inbox: Inbox
    bootstrap: str
    client: Mapping[str, Any] = field(default_factory=dict)
    _threads: list[tuple[threading.Thread, threading.Event]] = field(default_factory=list)

    def start(self) -> Exchange:
        agency = self.inbox.agency
        topics.ensure_topics(self.bootstrap, [topics.inbox(agency), topics.deadletter(agency)],
                             self.client)
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


def build(
    app: Homeward, agency: str, data_dir: Path, bootstrap: str,
    directory: Path | None = None, client: Mapping[str, Any] | None = None,
) -> Exchange:
    key: SigningKey = load_or_create(data_dir, agency)
    options = dict(client or {})
    trust = DirectoryFile(directory_path(data_dir, directory))
    relay = Relay(app, key, lambda: topics.producer(bootstrap, options))
    inbox = Inbox(
        app, agency, trust.current,
        lambda: consumer(bootstrap, agency, consumer_group_settings(), options),
        lambda: topics.producer(bootstrap, options),
    )
    return Exchange(relay, inbox, bootstrap, options)
