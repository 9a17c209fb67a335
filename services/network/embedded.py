"""`homeward run`: the embedded network of one corridor on this machine.

A local broker, the referring agency XA-NRM on 8001, the receiving agency XB-NRM on
8002 and a monitor node on 8003, each node its own process with its own SQLite store
under the data directory. They trust each other through one directory file. Ctrl-C
stops every process this command started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from services.api.auth import issue
from services.exchange.broker import BrokerError, LocalBroker, port_is_free
from services.exchange.directory import load, save
from services.exchange.keys import load_or_create
from services.node import jwt_secret
from services.settings import load as load_settings

REFERRING, RECEIVING, MONITOR = "XA-NRM", "XB-NRM", "monitor"
ROLES = {REFERRING: ["caseworker", "supervisor", "auditor"],
         RECEIVING: ["caseworker", "supervisor", "auditor"], MONITOR: ["monitor"]}
PAGES = {MONITOR: "/ui/corridors"}  # each agency node serves its status board at /ui/board


@dataclass(frozen=True)
class Member:
    agency: str
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, role: str, hours: float = 12.0) -> str:
        secret = jwt_secret(load_settings(agency=self.agency, data_dir=self.data_dir))
        sub = f"{self.agency.lower()}-{role}"
        return issue(secret, sub, self.agency, [role], datetime.now(UTC), hours)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser("run", help="the embedded network: broker, two agencies, a monitor")
    run.add_argument("--data-dir", type=Path, default=Path("var"))
    run.add_argument("--demo-cases", type=int, default=0, metavar="N",
                     help="seed N cases at different stages")
    run.add_argument("--base-port", type=int, default=8001,
                     help="XA-NRM listens here, XB-NRM on the next port, the monitor after")
    run.add_argument("--broker-port", type=int, default=None,
                     help="default: 9092 if free, else any free port")
    run.set_defaults(handler=run_network)


def members(data_dir: Path, base_port: int) -> list[Member]:
    return [Member(agency, base_port + i, data_dir / agency.lower())
            for i, agency in enumerate((REFERRING, RECEIVING, MONITOR))]


def trust(data_dir: Path, nodes: list[Member]) -> Path:
    """Each agency's key pair, and one directory file naming both and their corridor."""
    path = data_dir / "directory.json"
    directory = load(path)
    for member in nodes:
        if member.agency != MONITOR:
            directory = directory.with_agency(load_or_create(member.data_dir, member.agency))
    save(path, directory.with_corridor(REFERRING, RECEIVING))
    return path


def run_network(args: argparse.Namespace) -> int:
    data_dir = args.data_dir.resolve()
    nodes = members(data_dir, args.base_port)
    taken = [str(m.port) for m in nodes if not port_is_free(m.port)]
    if taken:
        print(f"homeward run: port {', '.join(taken)} is in use (try --base-port)", file=sys.stderr)
        return 2
    broker_port = args.broker_port or (9092 if port_is_free(9092) else None)
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
        if args.demo_cases:
            from services.demo import seed

            try:
                seed(nodes[0], nodes[1], args.demo_cases)
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
    env = {**os.environ, "HOMEWARD_AGENCY": member.agency,
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
