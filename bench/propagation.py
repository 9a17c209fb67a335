"""Cross-border propagation latency beside raw kafka-python latency, same broker, same run.

    .venv/bin/python -m bench.propagation [--steps 200] [--walkers 4] [--bootstrap HOST:PORT]

Two agency nodes, each in a process of its own as agencies' nodes run (SQLite, relay and
inbox in threads, as `homeward serve` runs them), walk whole repatriations, WALKERS cases
at once, each one step at a time at its owner, so both directions carry messages at the
same time and a step is recorded on a case the inbox is writing too, until STEPS steps
have crossed, after WARM_UP steps not counted (each node's first messages wait for the
broker's metadata of the partner's topic). For each step: from the commit at the owner to
the commit of the received fact at the partner, on the machine's monotonic clock, which
both processes read. Then the same broker, the same consumer settings: one kafka-python
producer sends STEPS messages one at a time, each timed until a group consumer has it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from uuid import UUID

from kafka import KafkaConsumer

from bench._figures import Figure, median, percentile, save
from events.case import Case
from events.steps import OpenCase
from events.values import Actor, Side
from services.backends.broker import LocalBroker
from services.backends.kafka import Kafka
from services.contract.codec import message_id
from services.exchange import topics
from services.exchange.inbox import Fact
from services.exchange.kafka_settings import consumer_group_settings
from services.network.demo_cases import repatriation
from tests.harness.exchange_nodes import Node, pair
from tests.harness.walks import actor

WARM_UP = 20  # steps crossed before any is counted


def wait_for(arrived: threading.Condition, check: Callable[[], bool]) -> None:
    # Blocks instead of polling: a polling loop would compete with the node for the GIL.
    with arrived:
        if not arrived.wait_for(check, timeout=30):
            raise SystemExit("bench: a step did not arrive within 30 s")


def start(node: Node, stored: dict[str, float], arrived: threading.Condition) -> None:
    """The node's relay and inbox; the inbox notes when each fact was committed."""
    topics.ensure_topics(Kafka(node.bootstrap).admin, [topics.inbox(node.agency),
                                                        topics.deadletter(node.agency)])
    inbox = node.exchange().inbox
    applied = inbox.apply

    def stamped(fact: Fact) -> Case | None:
        case = applied(fact)  # the case after it: its receipt needs no second read
        with arrived:
            stored[fact.received.message_id] = time.monotonic()
            arrived.notify_all()
        return case

    inbox.apply = stamped  # type: ignore[method-assign]
    node.inbox = inbox
    node._start("inbox", inbox.run)
    deadline = time.monotonic() + 30
    while not inbox.assigned and time.monotonic() < deadline:
        time.sleep(0.05)
    node.start_relay()


class Agency:
    """One node in a process of its own, answering its walkers over pipes: a case opened,
    a step recorded (when it committed, and the message it makes), a message awaited
    (when its fact committed here)."""

    def __init__(self, node: Node, referring: str, receiving: str) -> None:
        self.node, self.referring, self.receiving = node, referring, receiving
        self.stored: dict[str, float] = {}
        self.arrived = threading.Condition()
        self.began = 0.0  # the process's CPU time when the walks began

    def cpu(self) -> float:
        """The process's CPU seconds since the walks began, all its threads."""
        return time.process_time() - self.began

    def open(self, opening: dict[str, Any]) -> UUID:
        body = OpenCase(**{**opening, "receiving_agency": self.receiving})
        return self.node.app.open_case(body, Actor(self.node.agency, "worker")).id

    def record(self, case_id: UUID, path: str, body: dict[str, Any],
               who: Actor) -> tuple[float, str | None]:
        case = self.node.app.record(case_id, path, body, who)
        committed = time.monotonic()
        if case.state.referred_at is None:
            return committed, None  # it crosses with the referral
        assert self.node.relay is not None
        ref = self.node.relay.pseudonyms.case_ref(self.referring, self.receiving, case_id)
        return committed, str(message_id(ref, self.node.agency, case.version))

    def arrival(self, mid: str) -> float:
        wait_for(self.arrived, lambda: mid in self.stored)
        return self.stored[mid]

    def serve(self, conn: Connection) -> None:
        while True:
            try:
                what, *args = conn.recv()
            except EOFError:
                return
            try:
                conn.send(("ok", getattr(self, what)(*args)))
            except BaseException as error:  # reported by the walker
                conn.send(("error", repr(error)))


def agency_process(agency: str, home: Path, bootstrap: str, directory: Path, referring: str,
                   receiving: str, conns: list[Connection], ready: Any) -> None:
    node = Node(agency, home, bootstrap, directory)
    here = Agency(node, referring, receiving)
    start(node, here.stored, here.arrived)
    servers = [threading.Thread(target=here.serve, args=(c,), daemon=True) for c in conns]
    for server in servers:
        server.start()
    here.began = time.process_time()
    ready.set()
    for server in servers:
        server.join()
    node.close()


def call(conn: Connection, *request: Any) -> Any:
    conn.send(request)
    status, answer = conn.recv()
    if status != "ok":
        raise RuntimeError(f"bench: {request[0]} failed in the node: {answer}")
    return answer


def cross_border(bootstrap: str, steps: int, tmp: Path,
                 walkers: int) -> tuple[list[float], list[float]]:
    """Whole cases, `walkers` at once, one step at a time each, until `steps` steps
    crossed after the warm-up: both agencies send and receive at the same time, and each
    step's owner records it on a case its inbox is writing too. The latencies, and each
    node's CPU milliseconds a step crossed (either way), warm-up included."""
    a, b = pair(tmp, bootstrap)
    for node in (a, b):
        node.app.close()  # each is opened again in its own process
    spawn = multiprocessing.get_context("spawn")
    pipes = [[spawn.Pipe() for _ in range(walkers)] for _ in (a, b)]
    ready = [spawn.Event() for _ in (a, b)]
    processes = [spawn.Process(target=agency_process, daemon=True, args=(
        node.agency, node.home, bootstrap, node.directory_path, a.agency, b.agency,
        [theirs for _, theirs in pipes[i]], ready[i])) for i, node in enumerate((a, b))]
    for process in processes:
        process.start()
    for event in ready:
        if not event.wait(timeout=60):
            raise SystemExit("bench: a node did not start within 60 s")
    crossed: list[float] = []
    failures: list[BaseException] = []

    def walk(w: int) -> None:
        ends = (pipes[0][w][0], pipes[1][w][0])
        try:
            while len(crossed) < WARM_UP + steps:
                story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
                case_id = call(ends[0], "open", story.opening)
                for move in story.moves:
                    owner = 0 if move.side is Side.REFERRING else 1
                    committed, mid = call(ends[owner], "record", case_id, move.path,
                                          move.body, actor(move, a.agency, b.agency))
                    if mid is not None:
                        crossed.append(call(ends[1 - owner], "arrival", mid) - committed)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    try:
        threads = [threading.Thread(target=walk, args=(w,), daemon=True)
                   for w in range(walkers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        cpu = [call(side[0][0], "cpu") * 1000 / len(crossed) for side in pipes]
        return crossed[WARM_UP:WARM_UP + steps], cpu
    finally:
        for side in pipes:
            for mine, _ in side:
                mine.close()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


def raw_kafka(bootstrap: str, count: int) -> list[float]:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    topics.ensure_topics(Kafka(bootstrap).admin, [topic])
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             fetch_max_wait_ms=50, **consumer_group_settings())
    producer = Kafka(bootstrap).producer()
    received: dict[bytes, float] = {}
    arrived = threading.Condition()
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            for batch in consumer.poll(timeout_ms=100).values():
                now = time.monotonic()
                with arrived:
                    for record in batch:
                        received[record.value] = now
                    arrived.notify_all()

    while not consumer.assignment():
        consumer.poll(timeout_ms=100)
    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    latencies = []
    try:
        for i in range(count):
            value = str(i).encode()
            sent = time.monotonic()
            producer.send(topic, key=b"case", value=value).get(timeout=10)
            wait_for(arrived, lambda v=value: v in received)  # type: ignore[misc]
            latencies.append(received[value] - sent)
    finally:
        stop.set()
        thread.join()
        consumer.close()
        producer.close()
    return latencies


def summary(name: str, latencies: list[float]) -> str:
    ms = [x * 1000 for x in latencies]
    return (f"{name:<42} n={len(ms):>4}  p50 {median(ms):7.2f} ms"
            f"  p99 {percentile(ms, 99):7.2f} ms  max {max(ms):7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--walkers", type=int, default=4, help="cases walked at once")
    parser.add_argument("--bootstrap", help="an existing broker; default: a local one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = None
        bootstrap = args.bootstrap
        if not bootstrap:
            broker = LocalBroker(log_dir=Path(tmp) / "broker").start()
            bootstrap = broker.bootstrap
        try:
            crossing, cpu = cross_border(bootstrap, args.steps, Path(tmp), args.walkers)
            raw = raw_kafka(bootstrap, args.steps)
        finally:
            if broker is not None:
                broker.stop()
    print(f"broker {bootstrap}{' (local)' if broker else ''}; {args.walkers} cases at once")
    print(summary("cross-border: commit -> partner's fact", crossing))
    print(summary("raw kafka-python: produce -> consume", raw))
    print("each node's CPU a step crossed (its process, all threads): "
          + ", ".join(f"{ms:.2f} ms" for ms in cpu))
    ms, raw_ms = [x * 1000 for x in crossing], [x * 1000 for x in raw]
    print(f"overhead at p50: {median(ms) - median(raw_ms):.2f} ms"
          " (relay wake-up, signing, sealing, validation, verification, the partner's commit)")
    save({
        "exchange.node_cpu_ms_per_step": Figure(max(cpu), "ms"),
        "exchange.raw_p50_ms": Figure(median(raw_ms), "ms"),
        "exchange.raw_p99_ms": Figure(percentile(raw_ms, 99), "ms"),
        "exchange.propagation_p50_ms": Figure(median(ms), "ms", median(ms) / median(raw_ms),
                                              "exchange.raw_p50_ms", "<= 10"),
        "exchange.propagation_p99_ms": Figure(percentile(ms, 99), "ms",
                                              percentile(ms, 99) / percentile(raw_ms, 99),
                                              "exchange.raw_p99_ms", "<= 50"),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
