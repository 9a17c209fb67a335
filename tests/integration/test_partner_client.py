"""The cross-check's client reads a partner's answer up to a bound and within its timeout,
never whole, and asks nothing in the clear: a tiny HTTP server on a free loopback port
answers too much, or too slowly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import pytest

from services.anchors.remote import PartnerUnreachable, fetch_chain
from services.signing import SigningKey

KEY = SigningKey.generate("XA-NRM")
CHUNK = b" " * 65536
ENDLESS = 64 * 1024 * 1024  # what the server would send if it were let


class Answers(BaseHTTPRequestHandler):
    written = 0  # bytes the last answer got out before the client hung up

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path.startswith("/declared"):
            self.send_header("Content-Length", str(ENDLESS))
        self.end_headers()
        Answers.written = 0
        try:
            if self.path.startswith("/slow"):  # a byte at a time, for five seconds
                for _ in range(50):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
                return
            while Answers.written < ENDLESS:
                self.wfile.write(CHUNK)
                Answers.written += len(CHUNK)
        except OSError:
            pass  # the client stopped reading

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def partner() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def fetch(url: str, timeout: float = 10.0) -> None:
    fetch_chain(url, uuid4(), KEY, "XB-NRM", datetime.now(UTC), timeout=timeout)


@pytest.mark.parametrize("where", ["/endless", "/declared"])
def test_an_answer_past_the_bound_is_refused_unread(partner: str, where: str) -> None:
    started = time.monotonic()
    with pytest.raises(PartnerUnreachable, match="answered more than 8388608 bytes"):
        fetch(partner + where)
    assert Answers.written < ENDLESS  # it stopped reading at the bound
    assert time.monotonic() - started < 5


def test_an_answer_that_trickles_past_the_timeout_is_refused(partner: str) -> None:
    started = time.monotonic()
    with pytest.raises(PartnerUnreachable, match="took longer than the timeout"):
        fetch(partner + "/slow", timeout=1.0)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("url", ["http://xb-nrm.example", "http://10.0.0.7:8000",
                                 "ftp://127.0.0.1"])
def test_a_partner_is_not_asked_in_the_clear(url: str) -> None:
    with pytest.raises(PartnerUnreachable, match="not asked in the clear"):
        fetch(url)
