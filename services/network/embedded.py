"""`homeward run`: the embedded network of one corridor on this machine.

A local broker, the referring agency XA-NRM on 8001, the receiving agency XB-NRM on
8002 and a monitor node on 8003, each node its own process with its own SQLite store
under the data directory. They trust each other through one directory file. Ctrl-C
stops every process this command started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from services.exchange.broker import BrokerError, LocalBroker, port_is_free
from services.network.members import OWN_IDENTITY, PAGES, ROLES, Member, members, trust
from services.network.seed import seed


def run(data_dir: Path, base_port: int, broker_port: int | None = None, demo_cases: int = 0
        ) -> int:
    """Start the network, seed `demo_cases` cases, serve until Ctrl-C; the exit status."""
    data_dir = data_dir.resolve()
    nodes = members(data_dir, base_port)
    taken = [str(m.port) for m in nodes if not port_is_free(m.port)]
    if taken:
        print(f"homeward run: port {', '.join(taken)} is in use (try --base-port)", file=sys.stderr)
        return 2
    broker_port = broker_port or (9092 if port_is_free(9092) else None)
    stopping = _stop_on_signals()
    with ExitStack() as running:
        try:
            broker = running.enter_context(LocalBroker(broker_port, data_dir / "broker"))
        except BrokerError as error:
            print(f"homeward run: {error}", file=sys.stderr)
            return 1
        directory = trust(data_dir, nodes)
        processes = [running.enter_context(_serve(m, broker.bootstrap, directory, data_dir))
                     for m in nodes]
        if not all(_wait_healthy(m, p) for m, p in zip(nodes, processes, strict=True)):
            print("homeward run: a node did not start; see var/*.log", file=sys.stderr)
            return 1
        _announce(nodes, broker.bootstrap)
        if demo_cases:
            try:
                seed(nodes[0], nodes[1], demo_cases)
            except httpx.HTTPError as error:  # the network stays up; the demo is incomplete
                print(f"homeward run: seeding demo cases stopped: {error}", file=sys.stderr)
        while not stopping.is_set() and all(p.poll() is None for p in processes):
            stopping.wait(0.3)
        print("\nstopping the network...", flush=True)
    print("stopped.")
    return 0


@contextmanager
def _serve(member: Member, bootstrap: str, directory: Path, data_dir: Path
           ) -> Iterator[subprocess.Popen[bytes]]:
    env = {name: value for name, value in os.environ.items()
           if name.removeprefix("HOMEWARD_").lower() not in OWN_IDENTITY}
    env |= {"HOMEWARD_AGENCY": member.agency,
           "HOMEWARD_DATA_DIR": str(member.data_dir), "HOMEWARD_KAFKA_BOOTSTRAP": bootstrap,
           "HOMEWARD_DIRECTORY": str(directory)}
    log = (data_dir / f"{member.agency.lower()}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(member.port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches this command, which stops the node in order
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def _wait_healthy(member: Member, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{member.url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _announce(nodes: list[Member], bootstrap: str) -> None:
    print(f"Homeward is running. Broker: {bootstrap}. Press Ctrl-C to stop.\n")
    for member in nodes:
        print(f"{member.agency:8} {member.url}   API docs: {member.url}/docs")
        print(f"  web page    {member.url}{PAGES.get(member.agency, '/ui/board')}")
        for role in ROLES[member.agency]:
            print(f"  {role:11} token: {member.token(role)}")
        print()
    print(f'Try: curl -H "Authorization: Bearer <caseworker token>" {nodes[0].url}/v1/cases',
          flush=True)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop
