"""What a node watches to tell its operator: the broker lost and back, and messages to
partners still without a receipt past the threshold (HOMEWARD_UNDELIVERED_AFTER_SECONDS),
each said once, as it happens, in the node's log (services/logs/)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.logs.events import operational
from services.tables.deliveries import Deliveries

LOOK_EVERY_SECONDS = 2.0


def broker_answers(bootstrap: str, timeout: float = 2.0) -> bool:
    """Whether some broker of the list accepts a connection now."""
    for server in (s.strip() for s in bootstrap.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        try:
            socket.create_connection((host.strip("[]") or server, int(port or 9092)),
                                     timeout=timeout).close()
            return True
        except (OSError, ValueError):
            continue
    return False


class Watch:
    """Looks every `every` seconds; says each change once."""

    def __init__(self, bootstrap: str, deliveries: Deliveries | None,
                 undelivered_after: timedelta, every: float = LOOK_EVERY_SECONDS,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.bootstrap, self.deliveries = bootstrap, deliveries
        self.undelivered_after, self.every, self.now = undelivered_after, every, now
        self.broker_up: bool | None = None
        self.lost_at: datetime | None = None
        self.told: set[str] = set()  # messages already said to be undelivered

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.look()
            except Exception as error:  # a look that fails is tried at the next one
                logging.getLogger(__name__).warning("watch: %s", type(error).__name__)
            stop.wait(self.every)

    def look(self) -> None:
        up = broker_answers(self.bootstrap)
        if up != self.broker_up:
            if not up:
                self.lost_at = self.now()
                operational("broker connection lost", level=logging.WARNING,
                            bootstrap=self.bootstrap)
            elif self.broker_up is False:
                away = (self.now() - self.lost_at).total_seconds() if self.lost_at else None
                operational("broker connection back", bootstrap=self.bootstrap,
                            away_seconds=round(away, 1) if away is not None else None)
            self.broker_up = up
        if self.deliveries is not None:
            self._undelivered()

    def _undelivered(self) -> None:
        assert self.deliveries is not None
        late = self.deliveries.overdue(self.now() - self.undelivered_after)
        for message_id, recipient, attempts in late:
            if message_id not in self.told:
                operational("message undelivered past its threshold", level=logging.WARNING,
                            message_id=message_id, recipient=recipient, attempts=attempts,
                            threshold_seconds=self.undelivered_after.total_seconds())
        self.told = {m for m, _, _ in late}
