"""A role held by one replica at a time through a PostgreSQL session advisory lock
(services/exchange/leadership.py says why and how a role changes hands)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

from services.exchange.leadership import Work, lock_key
from services.logs.events import operational

log = logging.getLogger(__name__)

# How soon the server notices a holder that vanished without closing its connection.
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 5, 2, 3


class AdvisoryLock:
    """A role held through `pg_try_advisory_lock` on a dedicated connection."""

    def __init__(self, conninfo: str, scope: str, name: str, *, retry: float = 1.0,
                 check: float = 1.0, timeout: float = 3.0, grace: float | None = None
                 ) -> None:
        self.name, self.scope, self.key = name, scope, lock_key(scope, name)
        self.conninfo = conninfo
        self.retry, self.check, self.timeout = retry, check, timeout
        # After taking the lock, wait this long before working: a holder whose connection
        # the server ended (rather than a holder that died) notices within check + timeout
        # and stops, so the two never work at once.
        self.grace = check + timeout if grace is None else grace
        self._held = threading.Event()

    def held(self) -> bool:
        return self._held.is_set()

    def run(self, work: Work, stop: threading.Event) -> None:
        waiting = None  # a replica that waits for the lock keeps one connection to try on
        try:
            while not stop.is_set():
                waiting = waiting or self._open()
                if waiting is None or not self._take(waiting):
                    if waiting is not None and waiting.closed:
                        waiting = None
                    stop.wait(self.retry)
                    continue
                conn, waiting = waiting, None
                try:
                    if not stop.wait(self.grace) and self._alive(conn):
                        self._lead(conn, work, stop)
                finally:
                    self._held.clear()
                    _close(conn)  # the lock goes with its session
                stop.wait(self.retry)  # a replica that just lost the role lets others try
        finally:
            if waiting is not None:
                _close(waiting)

    def _connect(self) -> Any:
        seconds = max(int(self.timeout), 1)
        return psycopg.connect(
            self.conninfo, autocommit=True, connect_timeout=seconds,
            # This side: a send to a server that no longer answers fails within `timeout`.
            keepalives=1, keepalives_idle=KEEPALIVE_IDLE_S,
            keepalives_interval=KEEPALIVE_INTERVAL_S, keepalives_count=KEEPALIVE_COUNT,
            tcp_user_timeout=int(self.timeout * 1000),
            application_name=f"homeward-{self.name} {self.scope}"[:63])  # for operators

    def _open(self) -> Any:
        """A connection for the lock, or None (the store is not reachable now)."""
        try:
            conn = self._connect()
            # The server's side: a holder whose host vanished loses the lock in ~11 s.
            conn.execute(f"SET tcp_keepalives_idle = {KEEPALIVE_IDLE_S}")
            conn.execute(f"SET tcp_keepalives_interval = {KEEPALIVE_INTERVAL_S}")
            conn.execute(f"SET tcp_keepalives_count = {KEEPALIVE_COUNT}")
            return conn
        except psycopg.Error as error:
            log.warning("%s: cannot reach the store for its lock: %s", self.name,
                        type(error).__name__)
            return None

    def _take(self, conn: Any) -> bool:
        """Whether this connection now holds the lock (a broken one is closed)."""
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()
        except psycopg.Error:
            _close(conn)
            return False
        return bool(row and row[0])

    def _lead(self, conn: Any, work: Work, stop: threading.Event) -> None:
        lost = threading.Event()  # the work's own stop: set when this replica lets go
        self._held.set()
        operational("role taken", role=self.name, holder="advisory lock", scope=self.scope)
        reason = "stopping"
        thread = threading.Thread(target=work, args=(lost,), daemon=True,
                                  name=f"{self.name}-holder")
        thread.start()
        try:
            while thread.is_alive() and not stop.wait(self.check):
                if not self._alive(conn):
                    reason = "the lock's connection to the store is gone"
                    break
            else:
                reason = "stopping" if stop.is_set() else "the role's work ended"
        finally:
            lost.set()
            thread.join()  # the lock is let go only once the work has stopped
            operational("role lost" if reason != "stopping" else "role let go",
                        level=logging.WARNING if reason != "stopping" else logging.INFO,
                        role=self.name, reason=reason)

    def _alive(self, conn: Any) -> bool:
        try:
            conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # closing a broken connection must not hide why it broke
        log.debug("closing a lock connection failed", exc_info=True)
