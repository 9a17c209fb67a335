"""Cross-border propagation latency beside raw kafka-python latency, same broker, same run.

    .venv/bin/python -m bench.propagation [--steps 200] [--bootstrap HOST:PORT]

Two agency nodes (SQLite, relay and inbox in threads) walk whole repatriations, WALKERS
cases at once, each one step at a time at its owner, so both directions carry messages
at the same time and a step is recorded on a case the inbox is writing too, until STEPS
steps have crossed. For each
step: from the commit at the owner to the commit of the received fact at the partner.
Then the same broker, the same consumer settings: one kafka-python producer sends
STEPS messages one at a time, each timed until a group consumer has it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer

from bench._figures import Figure, median, percentile, save
from events.case import Case
from services.backends.broker import LocalBroker
from services.backends.kafka import Kafka
from services.contract.codec import message_id
from services.exchange import topics
from services.exchange.inbox import Fact
from services.exchange.kafka_settings import consumer_group_settings
from services.network.demo_cases import repatriation
from tests.harness.exchange_nodes import Node, open_case, pair, side_of
from tests.harness.walks import actor


def wait_for(arrived: threading.Condition, check: Callable[[], bool]) -> None:
    # Blocks instead of polling: a polling loop would compete with the nodes for the GIL.
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


def cross_border(bootstrap: str, steps: int, tmp: Path, walkers: int) -> list[float]:
    """Whole cases, `walkers` at once, one step at a time each, until `steps` steps
    crossed: both agencies send and receive at the same time, and each step's owner
    records it on a case its inbox is writing too."""
    a, b = pair(tmp, bootstrap)
    stored: dict[str, float] = {}
    arrived = threading.Condition()
    latencies: list[float] = []
    failures: list[BaseException] = []

    def walk() -> None:
        try:
            while len(latencies) < steps:
                story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
                case_id = open_case(a, b, story.opening)
                for move in story.moves:
                    owner = side_of((a, b), move.side)
                    case = owner.app.record(case_id, move.path, move.body,
                                            actor(move, a.agency, b.agency))
                    committed = time.monotonic()
                    if case.state.referred_at is None:
                        continue  # it crosses with the referral
                    assert owner.relay is not None
                    ref = owner.relay.pseudonyms.case_ref(a.agency, b.agency, case_id)
                    mid = str(message_id(ref, owner.agency, case.version))
                    wait_for(arrived, lambda m=mid: m in stored)  # type: ignore[misc]
                    latencies.append(stored[mid] - committed)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    try:
        for node in (a, b):
            start(node, stored, arrived)
        threads = [threading.Thread(target=walk, daemon=True) for _ in range(walkers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        return latencies
    finally:
        a.close()
        b.close()


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
            crossing = cross_border(bootstrap, args.steps, Path(tmp), args.walkers)
            raw = raw_kafka(bootstrap, args.steps)
        finally:
            if broker is not None:
                broker.stop()
    print(f"broker {bootstrap}{' (local)' if broker else ''}; {args.walkers} cases at once")
    print(summary("cross-border: commit -> partner's fact", crossing))
    print(summary("raw kafka-python: produce -> consume", raw))
    ms, raw_ms = [x * 1000 for x in crossing], [x * 1000 for x in raw]
    print(f"overhead at p50: {median(ms) - median(raw_ms):.2f} ms"
          " (relay wake-up, signing, sealing, validation, verification, the partner's commit)")
    save({
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
