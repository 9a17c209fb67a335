"""Agency nodes for exchange tests and the benchmark: a Homeward application on SQLite,
its relay and its inbox (wired by services/bootstrap.py as a node's are), each started
on its own in a thread against a real broker, so a test can stop and restart one."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from events.case import CaseEvent
from events.steps import OpenCase
from events.values import Actor, Side
from services.application import Homeward
from services.backends.broker import LocalBroker
from services.backends.kafka import Kafka
from services.bootstrap import kafka_exchange
from services.contract.codec import encode, sent_digests, sign
from services.exchange import topics
from services.exchange.directory import DirectoryFile, publish, save
from services.exchange.directory import load as load_directory
from services.exchange.exchange import Exchange
from services.exchange.inbox import Inbox
from services.exchange.relay import Relay, Resending
from services.exchange.sealing import seal
from services.files import default_key_dir
from services.network.demo_cases import Move, Walk, repatriation
from services.signing import SealingKey, SigningKey, load_or_create, load_or_create_sealing
from services.tables.deliveries import Deliveries
from tests.harness.stores import homeward, sqlite_env
from tests.harness.support import free_port
from tests.harness.walks import actor

T = TypeVar("T")


def agency_code(prefix: str) -> str:
    """A fresh agency code, so topics and consumer groups never collide between runs."""
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def wait_until(check: Callable[[], T], timeout: float = 10.0, every: float = 0.005) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {check}")
        time.sleep(every)


@dataclass
class Node:
    agency: str
    home: Path
    bootstrap: str
    directory_path: Path
    env: dict[str, str] = field(default_factory=dict)
    app: Homeward = field(init=False)
    key: SigningKey = field(init=False)
    relay: Relay | None = None
    inbox: Inbox | None = None
    # Short waits for receipts, so tests see messages sent again within seconds.
    resending: Resending = field(default_factory=lambda: Resending(
        timedelta(seconds=2), timedelta(seconds=8), every=0.5))
    _threads: dict[str, tuple[threading.Thread, threading.Event]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = self.env or sqlite_env(self.home / "events.sqlite")
        self.app = homeward(self.env)
        self.key = load_or_create(self.keys, self.agency)

    @property
    def keys(self) -> Path:
        """The node's key dir, beside its data dir as a node's own is."""
        return default_key_dir(self.home)

    def exchange(self) -> Exchange:
        """A fresh relay and inbox, wired as the composition root wires a node's."""
        return kafka_exchange(self.app, self.agency, self.home, self.bootstrap,
                              self.directory_path, resending=self.resending, keys=self.keys)

    # For tests that replace the relay or the inbox with one of their own.
    def new_producer(self) -> KafkaProducer:
        return Kafka(self.bootstrap).producer()

    def new_consumer(self) -> KafkaConsumer:
        return Kafka(self.bootstrap).inbox_consumer(self.agency)

    def start_relay(self) -> Relay:
        self.relay = self.exchange().relay
        self._start("relay", self.relay.run)
        return self.relay

    def start_inbox(self, **settings: Any) -> Inbox:
        """A fresh inbox running, once its group has joined; `settings` (`bound`,
        `parked_bound`, `unknown_case_wait`, `parked_patience`) set on it before it reads."""
        topics.ensure_topics(Kafka(self.bootstrap).admin, [topics.inbox(self.agency),
                                              topics.deadletter(self.agency)])
        self.inbox = self.exchange().inbox
        for name, value in settings.items():
            assert hasattr(self.inbox, name), name
            setattr(self.inbox, name, value)
        self._start("inbox", self.inbox.run)
        inbox = self.inbox
        wait_until(lambda: inbox.assigned, timeout=30)  # the group's first join takes seconds
        return inbox

    def replace_relay(self, relay: Relay) -> Relay:
        """The running relay stopped and `relay`, one of the test's own, run in its place."""
        self.stop("relay")
        self.relay = relay
        self._start("relay", relay.run)
        return relay

    def _start(self, name: str, run: Callable[[threading.Event], None]) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=run, args=(stop,), name=f"{self.agency}-{name}",
                                  daemon=True)
        thread.start()
        self._threads[name] = (thread, stop)

    def stop(self, name: str) -> None:
        thread, stop = self._threads.pop(name)
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive(), f"{name} of {self.agency} did not stop"

    def close(self) -> None:
        for name in list(self._threads):
            self.stop(name)
        self.app.close()

    def new_signing_key(self) -> SigningKey:
        """Another signing key of this agency (the same sealing key), listed nowhere yet."""
        return SigningKey(self.agency, Ed25519PrivateKey.generate(), self.key.sealing)

    def list_new_signing_key(self, old_until: datetime,
                             since: datetime | None = None) -> SigningKey:
        """A new signing key listed in the directory, valid from `since`, beside the old
        ones, valid until `old_until`. The node still signs with its old key."""
        key = self.new_signing_key()
        save(self.directory_path,
             load_directory(self.directory_path).with_rotated_key(key, old_until, since))
        return key

    # -- what the node knows -------------------------------------------------

    def own_hashes(self, case_id: UUID) -> list[str]:
        """The digests of the messages this node sent of the case."""
        return sent_digests(self.app.timeline(case_id))

    def sealed(self, envelope: dict[str, Any], to: Node, signer: Any = None) -> bytes:
        """A signed v1 message as it goes on the wire: sealed to `to`, signed by this node."""
        sealing = load_directory(self.directory_path).sealing(to.agency)
        assert sealing is not None
        case_ref = str(uuid.uuid5(uuid.NAMESPACE_URL, envelope["message_id"]))
        return encode(seal(envelope, case_ref, sealing, signer or self.key))

    def received_hashes(self, case_id: UUID) -> list[str]:
        try:
            events = self.app.timeline(case_id)
        except Exception:
            return []
        return [e.received["sender_hash"] for e in events if e.received is not None]

    def received(self, case_id: UUID) -> list[CaseEvent]:
        return [e for e in self.app.timeline(case_id) if e.received is not None]

    def deliveries(self) -> Deliveries:
        """What this node sent its partner and which receipts came back (its own table)."""
        relay = self.relay or self.exchange().relay
        assert relay.deliveries is not None
        return relay.deliveries

    def receipts(self, case_id: UUID) -> dict[int, str | None]:
        """The partner's hash of each fact it receipted, by the version of the own event."""
        d = self.deliveries()
        rows = d.db.run(f"SELECT version, fact_hash FROM {d.t} WHERE case_id = ?",
                        (str(case_id),)).rows
        return {int(v): h for v, h in rows}


def restarted(broker: LocalBroker, *nodes: Node) -> LocalBroker:
    """The broker started again (empty: it keeps topics in memory), with the nodes' topics
    made at once, before a client's first message creates one with other partitions."""
    broker.stop()
    broker.start()
    names = [t for n in nodes for t in (topics.inbox(n.agency), topics.deadletter(n.agency))]
    topics.ensure_topics(Kafka(broker.bootstrap).admin, [*names, topics.MONITORING])
    return broker


def pair(tmp_path: Path, bootstrap: str) -> tuple[Node, Node]:
    """A referring and a receiving node that trust each other on one corridor, and a
    monitor's sealing key in their directory."""
    directory_path = tmp_path / "directory.json"
    a = Node(agency_code("XA"), tmp_path / "a", bootstrap, directory_path)
    b = Node(agency_code("XB"), tmp_path / "b", bootstrap, directory_path)
    publish(directory_path, a.key)
    directory = publish(directory_path, b.key).with_corridor(a.agency, b.agency)
    save(directory_path, directory.with_monitor(monitor_key(a)))
    return a, b


def monitor_key(node: Node) -> SealingKey:
    """The sealing key of the monitor listed in the node's directory (made on first use)."""
    return load_or_create_sealing(default_key_dir(node.directory_path.parent / "monitor"),
                                  "monitor")


def open_case(node: Node, partner: Node, opening: dict[str, Any]) -> UUID:
    body = OpenCase(**{**opening, "receiving_agency": partner.agency})
    return node.app.open_case(body, Actor(node.agency, "worker")).id


def side_of(nodes: tuple[Node, Node], side: Side) -> Node:
    return nodes[0] if side is Side.REFERRING else nodes[1]


# -- what the partner sees -----------------------------------------------------


@dataclass(frozen=True)
class Posting:
    """Records a test puts on a node's inbox topic itself, in place of the sender's relay."""

    sender: Node
    to: Node
    producer: KafkaProducer

    def sealed(self, envelope: dict[str, Any], signer: SigningKey | None = None) -> int:
        """The envelope sealed to the recipient and signed by the sender, or, given
        `signer`, signed and sealed by that key instead; its offset on the topic."""
        if signer is not None:
            envelope = sign(envelope, signer)
        return self.raw(self.sender.sealed(envelope, self.to, signer))

    def raw(self, value: bytes) -> int:
        """The bytes as they are; their offset on the topic."""
        return int(self.producer.send(topics.inbox(self.to.agency), value=value)
                   .get(timeout=10).offset)


@contextmanager
def sending(sender: Node, to: Node) -> Iterator[Posting]:
    """A producer of the recipient's own, posting as `sender`; closed after."""
    producer = to.new_producer()
    try:
        yield Posting(sender, to, producer)
    finally:
        producer.close()


@contextmanager
def pair_on_own_broker(tmp_path: Path) -> Iterator[tuple[LocalBroker, Node, Node]]:
    """A broker of the test's own, to stop and start, and two agencies' nodes on it; all
    closed after."""
    broker = LocalBroker(port=free_port(), log_dir=tmp_path / "broker").start()
    a, b = pair(tmp_path, broker.bootstrap)
    try:
        yield broker, a, b
    finally:
        a.close()
        b.close()
        broker.stop()


def accepted_minor(a: Node, b: Node) -> tuple[Walk, UUID]:
    """Both nodes exchanging, and a child's return played at both up to the acceptance
    (after the guardian, consent...): the story and its case."""
    story, case_id = played((a, b), 7, minor=True)
    assert story.moves[6].path == "acceptance"
    return story, case_id


def exchanging(a: Node, b: Node, **options: Any) -> tuple[Walk, UUID]:
    """Both nodes relaying and reading their inboxes, and a repatriation (`options`: the
    story's) opened at `a` towards `b`: the story and its case."""
    for node in (a, b):
        node.start_inbox()
        node.start_relay()
    story = repatriation(datetime.now(UTC).date(), receiving=b.agency, **options)
    return story, open_case(a, b, story.opening)


def played(nodes: tuple[Node, Node], count: int | None = None,
           **options: Any) -> tuple[Walk, UUID]:
    """Both nodes exchanging, and the first `count` moves of the story (`options`: the
    story's) played at their owners, each once at the partner: the story and its case."""
    story, case_id = exchanging(*nodes, **options)
    play(nodes, story.moves[:count], case_id)
    return story, case_id


def play(nodes: tuple[Node, Node], moves: list[Move], case_id: UUID) -> list[float]:
    """Records each move at its owner; returns how long each took to reach the partner."""
    latencies = []
    for move in moves:
        owner = side_of(nodes, move.side)
        other = side_of(nodes, Side.RECEIVING if move.side is Side.REFERRING else Side.REFERRING)
        started = time.monotonic()
        case = owner.app.record(case_id, move.path, move.body,
                                actor(move, nodes[0].agency, nodes[1].agency))
        if case.state.referred_at is None:
            continue  # the partner learns of the case with its referral
        expected = owner.own_hashes(case_id)
        wait_until(lambda o=other, e=expected: o.received_hashes(case_id) == e,  # type: ignore[misc]
                   timeout=10)
        latencies.append(time.monotonic() - started)
    return latencies


def dead_letters(node: Node, expected: int, within: float = 10.0) -> list[tuple[str, Any]]:
    """(reason, record) of each message in the node's dead-letter topic."""
    reader = KafkaConsumer(bootstrap_servers=node.bootstrap, auto_offset_reset="earliest",
                           enable_auto_commit=False)
    partition = TopicPartition(topics.deadletter(node.agency), 0)
    reader.assign([partition])
    reader.seek_to_beginning(partition)
    records: list[Any] = []
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline and len(records) < expected:
            for batch in reader.poll(timeout_ms=200).values():
                records.extend(batch)
        time.sleep(0.2)
        for batch in reader.poll(timeout_ms=200).values():
            records.extend(batch)  # and nothing more than expected
    finally:
        reader.close()
    return [(dict(r.headers)["reason"].decode(), r) for r in records]


# -- what a sender sends, and what came of it -----------------------------------


def envelopes(sender: Node, recipient: Node) -> list[dict[str, Any]]:
    """What the sender's relay would publish to the recipient, in order."""
    relay = Relay(sender.app, sender.key, sender.new_producer,
                  DirectoryFile(sender.directory_path).current)
    notifications = list(sender.app.recorder.select_notifications(1, 10_000))
    return [m.envelope for m in relay.messages(notifications)
            if m.topic == topics.inbox(recipient.agency)]


def alone_moves(a: Node, b: Node) -> list[Move]:
    """What the referring agency can record before the partner accepts."""
    story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
    alone = [m for m in story.moves if m.side is Side.REFERRING][:4]
    assert [m.path for m in alone] == ["consent", "referral", "identity-verification-request",
                                       "risk-assessment"]
    return alone


def referring_moves(a: Node, b: Node, count: int) -> UUID:
    """A case opened at `a` with its first `count` steps of those `alone_moves` names."""
    story = repatriation(datetime.now(UTC).date(), receiving=b.agency)
    case_id = open_case(a, b, story.opening)
    for move in alone_moves(a, b)[:count]:
        a.app.record(case_id, move.path, move.body, actor(move, a.agency, b.agency))
    return case_id


def alone(node: Node, partner: Node) -> UUID:
    """A case the referring node opens and refers, with 8 messages for the partner."""
    story = repatriation(datetime.now(UTC).date(), receiving=partner.agency)
    case_id = open_case(node, partner, story.opening)
    worker = actor(story.moves[0], node.agency, partner.agency)
    risk = next(m for m in story.moves if m.path == "risk-assessment")
    for path, body in [
        ("consent", story.moves[0].body), ("referral", {}),
        ("identity-verification-request", {}), ("risk-assessment", risk.body),
        ("consent", {**story.moves[0].body, "scopes": ["refer"]}),
        ("consent-withdrawal", {"scopes": ["monitoring"]}),
        ("consent", {**story.moves[0].body, "scopes": ["monitoring"]}),
    ]:
        node.app.record(case_id, path, body, worker)
    return case_id


def referred_alone(node: Node, partner: Node) -> tuple[UUID, list[dict[str, Any]]]:
    """The case `alone` opens, and the 8 messages the node's relay would send the partner
    of it, in order, for a test to send itself."""
    case_id = alone(node, partner)
    return case_id, envelopes(node, partner)


def receipted_as_recorded(sender: Node, receiver: Node, case_id: UUID) -> bool:
    """Every message the sender sent of the case is receipted, each with the hash of the
    fact the receiver recorded of it."""
    recorded = {e.received["message_id"]: e.hash for e in receiver.received(case_id)}
    d = sender.deliveries()
    rows = d.db.run(f"SELECT message_id, fact_hash FROM {d.t} WHERE case_id = ?",
                    (str(case_id),)).rows
    return (len(rows) == len(sender.own_hashes(case_id)) == len(recorded)
            and all(recorded.get(mid) == fact_hash for mid, fact_hash in rows))


def exactly_once(sender: Node, receiver: Node, case_id: UUID) -> bool:
    return receiver.received_hashes(case_id) == sender.own_hashes(case_id)


def delivered_once(sender: Node, receiver: Node, case_id: UUID, timeout: float = 60.0) -> None:
    """Waits until every message the sender sent of the case reached the receiver exactly
    once and is receipted as recorded; then nothing went to the receiver's dead letters."""
    wait_until(lambda: exactly_once(sender, receiver, case_id)
               and receipted_as_recorded(sender, receiver, case_id), timeout=timeout)
    assert receiver.inbox is not None and receiver.inbox.dead == 0
    assert dead_letters(receiver, expected=0) == []
