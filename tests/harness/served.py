"""A node's HTTP API on a real port in a thread (uvicorn), for what one node reads from
another over HTTP, such as the partner's chain view; and the wait for a node served by a
process of its own to answer."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from services.backends.broker import LOOPBACK
from tests.harness.support import free_port


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app served on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name=f"http-{port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def answering(url: str, process: subprocess.Popen[str] | subprocess.Popen[bytes],
              seconds: float, every: float = 0.2) -> None:
    """Waits until `url` answers 200, while `process` (which serves it) lives, for at most
    `seconds`; fails with what the process said on stderr, or stdout, if it does not."""
    deadline = time.monotonic() + seconds
    with httpx.Client() as client:  # one, not one a try: each loads the certificates
        while True:
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            said = process.stderr or process.stdout
            assert process.poll() is None and time.monotonic() < deadline, (
                said.read() if said is not None and process.poll() is not None else url)
            time.sleep(every)
