"""`homeward run`: the embedded network of three agencies on this machine.

A local broker, the agencies XA-NRM on 8001, XB-NRM on 8002 and XC-NRM on 8004, and a
monitor node on 8003, each node its own process with its own SQLite store under the data
directory. They trust each other through one directory file, which lists the corridors
XA-NRM -> XB-NRM, XA-NRM -> XC-NRM and XC-NRM -> XB-NRM (`members`). With two agencies,
XA-NRM and XB-NRM and their one corridor.

Ctrl-C, SIGINT or SIGTERM stops it at any moment, demo seeding and start-up included:
each phase looks at the stop between its steps, and every process this command started
(the broker and the nodes, each in a session of its own) is asked to stop at once and
killed if it has not within a few seconds, so nothing is left behind. Until then, a member
that dies (the broker, a node) is started again, with backoff, and the output says so
(`supervision`): the network as a whole stops only when asked to.
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
from typing import IO

import httpx
from kafka.errors import KafkaError

from services.backends.broker import MEMORY, BrokerError, LocalBroker, port_is_free
from services.exchange import topics
from services.network.members import (
    MONITOR,
    OWN_IDENTITY,
    PAGES,
    ROLES,
    Member,
    members,
    trust,
)
from services.network.seed import seed
from services.network.supervision import Supervisor

STOP_GRACE = 5.0  # seconds the nodes have to stop in order before they are killed
# The embedded network waits less for receipts than the defaults: a member brought back
# catches up within seconds (each can still be set in the environment).
EMBEDDED_RESENDING = {"HOMEWARD_RESEND_AFTER_SECONDS": "5", "HOMEWARD_RESEND_LONGEST_SECONDS": "15"}


def run(data_dir: Path, base_port: int, broker_port: int | None = None, demo_cases: int = 0,
        broker_store: str = MEMORY, agencies: int = 3) -> int:
    """Start the network of `agencies` agencies and the monitor, seed `demo_cases` cases,
    serve until Ctrl-C; the exit status."""
    data_dir = data_dir.resolve()
    nodes = members(data_dir, base_port, agencies)
    taken = [str(m.port) for m in nodes if not port_is_free(m.port)]
    if taken:
        print(f"homeward run: port {', '.join(taken)} is in use (try --base-port)", file=sys.stderr)
        return 2
    broker_port = broker_port or (9092 if port_is_free(9092) else None)
    stopping = _stop_on_signals()
    with ExitStack() as running:
        try:
            broker = running.enter_context(LocalBroker(broker_port, data_dir / "broker",
                                                       storage=broker_store))
        except BrokerError as error:
            print(f"homeward run: {error}", file=sys.stderr)
            return 1
        directory = trust(data_dir, nodes)
        if demo_cases and not stopping.is_set():
            _seed(nodes, demo_cases, directory, stopping)
        if stopping.is_set():
            return _stopped()
        processes = running.enter_context(_serving(nodes, broker.bootstrap, directory, data_dir))
        if not all(_wait_healthy(m, p, stopping) for m, p in zip(nodes, processes, strict=True)):
            if stopping.is_set():
                return _stopped()
            print("homeward run: a node did not start; see var/*.log", file=sys.stderr)
            return 1
        _announce(nodes, broker.bootstrap)
        supervisor = _supervise(broker, nodes, processes, broker.bootstrap, directory, data_dir)
        while not stopping.is_set():
            supervisor.check()
            stopping.wait(0.3)
        print("\nstopping the network...", flush=True)
    print("stopped.")
    return 0


def _supervise(broker: LocalBroker, nodes: list[Member],
               processes: list[subprocess.Popen[bytes]], bootstrap: str, directory: Path,
               data_dir: Path) -> Supervisor:
    """Each member watched; a node brought back takes its place in `processes`, so it is
    stopped with the others."""
    supervisor = Supervisor(lambda line: print(line, flush=True))
    supervisor.watch("the broker", broker.is_running, lambda: _restart_broker(broker, nodes))
    for i, member in enumerate(nodes):
        def restart(i: int = i, member: Member = member) -> None:
            with (data_dir / f"{member.agency.lower()}.log").open("ab") as log:
                processes[i] = _serve(member, bootstrap, directory, log)
        def alive(i: int = i) -> bool:
            return processes[i].poll() is None

        supervisor.watch(member.agency, alive, restart)
    return supervisor


def _restart_broker(broker: LocalBroker, nodes: list[Member]) -> None:
    """The broker started again, empty with memory storage, and the nodes' topics
    made at once as each node makes them at its start. A relay that reached the broker
    first has had its partner's inbox created by its first message, with the broker's own
    count of partitions (the local broker creates a topic on a producer's request, whatever
    the producer asks): that inbox is deleted and made again as its node makes it. What
    was sent to it meanwhile is sent again by its relay, which resends until receipted."""
    broker.stop()  # reaps what is left of the old process
    broker.start()
    for m in nodes:
        if m.agency != MONITOR:
            settings = m.settings()
            remake_inbox(broker, m.agency, settings.kafka_inbox_partitions,
                          settings.inbox_retention_days)
            topics.ensure_topics(broker.clients.admin, [topics.deadletter(m.agency)],
                                 retention_days=settings.deadletter_retention_days)
    topics.ensure_topics(broker.clients.admin, [topics.MONITORING])


def remake_inbox(broker: LocalBroker, agency: str, partitions: int, retention_days: int,
                  attempts: int = 5) -> bool:
    """The agency's inbox with `partitions` partitions: deleted and made again while the
    broker holds it with another count. A refusal (say, to delete) is one attempt failed,
    never an error: the network goes on, and after `attempts` a line says what is wrong.
    Whether the inbox has its partitions."""
    name = topics.inbox(agency)
    refused: KafkaError | None = None
    for _ in range(attempts):
        topics.ensure_topics(broker.clients.admin, [name], partitions=partitions,
                             retention_days=retention_days)
        admin = broker.clients.admin()
        try:
            found = admin.describe_topics([name])
            if all(len(t["partitions"]) == partitions for t in found):
                return True
            admin.delete_topics([name])
        except KafkaError as error:
            refused = error
        finally:
            admin.close()
        time.sleep(0.1)
    why = f" ({type(refused).__name__})" if refused is not None else ""
    print(f"homeward run: the inbox of {agency} could not be made again with "
          f"{partitions} partitions{why}", flush=True)
    return False


def _stopped() -> int:
    print("stopped.", flush=True)
    return 0


def _seed(nodes: list[Member], count: int, directory: Path, stopping: threading.Event) -> None:
    print(f"seeding {count} demo cases over the past 18 months before the nodes start "
          "(Ctrl-C stops it)...", flush=True)
    try:
        seeded = seed([m for m in nodes if m.agency != MONITOR], count, directory, stopping)
    except Exception as error:  # the network still starts; the demo is incomplete
        print(f"homeward run: seeding demo cases stopped: {type(error).__name__}: {error}",
              file=sys.stderr)
        return
    print(f"seeded {seeded.cases} demo cases ({seeded.steps} steps) in {seeded.seconds:.1f} s: "
          f"{seeded.rate:.1f} cases/s", flush=True)


@contextmanager
def _serving(nodes: list[Member], bootstrap: str, directory: Path, data_dir: Path
             ) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every node's process; on the way out all are asked to stop at once (SIGINT: each
    stops in order) and any still running after STOP_GRACE is killed."""
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for member in nodes:
            log = (data_dir / f"{member.agency.lower()}.log").open("ab")
            logs.append(log)
            processes.append(_serve(member, bootstrap, directory, log))
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE
        for process in processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def _serve(member: Member, bootstrap: str, directory: Path, log: IO[bytes]
           ) -> subprocess.Popen[bytes]:
    env = {name: value for name, value in os.environ.items()
           if name.removeprefix("HOMEWARD_").lower() not in OWN_IDENTITY}
    env = EMBEDDED_RESENDING | env
    env |= {"HOMEWARD_AGENCY": member.agency,
           "HOMEWARD_DATA_DIR": str(member.data_dir), "HOMEWARD_KAFKA_BOOTSTRAP": bootstrap,
           "HOMEWARD_DIRECTORY": str(directory)}
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(member.port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches this command, which stops the node in order
    )


def _wait_healthy(member: Member, process: subprocess.Popen[bytes], stopping: threading.Event,
                  timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    # One client for the whole wait: each new one loads the system's certificates (about
    # 30 ms of CPU), five times a second per node while the nodes start.
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline and process.poll() is None and not stopping.is_set():
            try:
                if client.get(f"{member.url}/healthz").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            stopping.wait(0.2)
    return False


def _announce(nodes: list[Member], bootstrap: str) -> None:
    print(f"Homeward is running. Broker: {bootstrap}. Press Ctrl-C to stop.\n")
    for member in nodes:
        print(f"{member.agency:8} {member.url}   API: {member.url}/openapi.json")
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
