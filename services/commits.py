"""The application's commits in this process, counted, and whoever waits for the next one
woken (the relay, instead of polling the store); another process's are found by polling.
A commit of partners' facts only is not counted (`Homeward._notify`): it has nothing to
send."""

from __future__ import annotations

import threading


class Commits:
    """Counts the application's commits and wakes whoever waits for the next one (the
    relay, instead of polling the store)."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def committed(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Until a commit after the `seen`-th, or `timeout` seconds; whether one came."""
        with self._changed:
            return self._changed.wait_for(lambda: self.count != seen, timeout)
