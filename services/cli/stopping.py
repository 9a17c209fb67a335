"""A long-running command stops cleanly whenever SIGTERM or SIGINT arrives, even while
the program is still being loaded: the signal raises `Stopped` in the main thread, the
command closes what it started and exits 0, without a traceback. Only the standard
library here, so the handlers are in place before anything heavy is imported."""

from __future__ import annotations

import signal
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived: stop where you are, in order."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


def stop_on_signals() -> None:
    for sig in SIGNALS:
        signal.signal(sig, _stop)


def ignore_signals() -> None:
    """While closing: a second signal must not cut the close short."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
