"""A TLS terminator for tests: accepts TLS on a port of its own with a certificate made by
the test's CA, and forwards the plain bytes to a backend (the local broker, whose own TLS
options cannot be used). Clients verify the certificate against that CA, as they would a
cluster's."""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path
from types import TracebackType

from services.backends.broker import LOOPBACK
from tests.harness.support import free_port


class TlsTerminator:
    def __init__(self, cert: Path, key: Path, backend_port: int) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.backend_port, self.port = backend_port, free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._forward, LOOPBACK, self.port,
                                                  ssl=self.context)

    async def _forward(self, client_in: asyncio.StreamReader,
                       client_out: asyncio.StreamWriter) -> None:
        try:
            backend_in, backend_out = await asyncio.open_connection(LOOPBACK, self.backend_port)
        except OSError:
            client_out.close()
            return
        await asyncio.gather(_pipe(client_in, backend_out), _pipe(backend_in, client_out))

    def __enter__(self) -> TlsTerminator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        sink.close()
