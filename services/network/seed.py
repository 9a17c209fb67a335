"""Seeding the embedded network with demo cases at different stages, through the
application: each agency's caseworkers record their steps on its own store, and each
step's message crosses to the partner as it would over Kafka (signed and sealed by the
relay's code, opened, checked and recorded by the inbox's), only without the broker, so
a case takes milliseconds rather than a broker's round trips.

The cases take turns on the directory's corridors, and each step is recorded at the time
its history gives it (`history`: the cases spread over the past 18 months), the stores'
clock set to that time: the events, the messages and the milestones are the step's own.

It runs before the nodes start, on their stores. Each message is kept in the sender's
deliveries as sent and receipted, so once the nodes run, each relay, reading its log from
where it last stood, sends its partners none of them again (a receipted message is never
sent again); the monitor gets its milestones then. `stop` ends it between two steps: a case
may be left part-way, as a caseworker would leave it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool
from rich.progress import Progress

from events.deadlines import Deadlines
from events.steps import OpenCase
from events.values import Actor, Role, Side
from services.application import Homeward
from services.bootstrap import application, kafka_exchange, sidecar
from services.clock import FixedClock
from services.exchange import topics
from services.exchange.directory import Directory, DirectoryFile
from services.exchange.exchange import Exchange
from services.network.demo_cases import Move
from services.network.history import history
from services.network.members import Member, corridors
from services.tables.deliveries import Deliveries, Sent

# How far a demo case gets: referred, accepted, ready to travel, in transit, home. Each
# fifth case stalls at one of the first four stages in turn; the others go as far as their
# history has come by now, the older ones home and followed up.
STAGES = ["referral", "acceptance", "reception", "departure", "follow-up"]
STALLED = 5
KEYS_AHEAD = 20  # cases whose keys are made in one commit of each agency's key table
UNUSED_BROKER = "127.0.0.1:9"  # the exchange's Kafka clients are never made here


@dataclass
class SeedingAgency:
    """One agency while seeding: its application, its exchange's relay and inbox, and the
    node's record of its deliveries."""

    agency: str
    app: Homeward
    exchange: Exchange
    close_tables: Callable[[], None]  # the node's tables, where its deliveries are kept
    sent: int = 0  # the notifications whose messages were passed to the partner
    delivered: list[tuple[Sent, str]] = field(default_factory=list)  # not yet kept

    def keep_delivered(self) -> None:
        deliveries = self.exchange.relay.deliveries
        if deliveries is not None and self.delivered:
            deliveries.delivered_already(self.delivered, self.app.clock.now())
        self.delivered.clear()

    def close(self) -> None:
        try:
            self.keep_delivered()
        finally:
            self.app.close()
            self.close_tables()


@dataclass(frozen=True)
class Seeded:
    cases: int
    steps: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.cases / self.seconds if self.seconds > 0 else 0.0


def seed(agencies: list[Member], count: int, directory: Path,
         stop: threading.Event | None = None, show: bool = True,
         now: datetime | None = None) -> Seeded:
    """Seed up to `count` cases over the corridors between `agencies`, their steps dated
    up to `now`; stops early (between two steps) once `stop` is set."""
    stop = stop or threading.Event()
    now = now or datetime.now(UTC)
    trust = DirectoryFile(directory).current()
    clock = FixedClock(now)
    began, cases, steps = time.perf_counter(), 0, 0
    with ExitStack() as seeding:
        seeding.enter_context(_commits_unsynced())
        desks = {m.agency: _desk(m, directory, clock) for m in agencies}
        for desk in desks.values():
            seeding.callback(desk.close)
        progress = seeding.enter_context(Progress(disable=not show))
        task = progress.add_task("seeding demo cases", total=count)
        ways = corridors(agencies)
        ahead: list[uuid.UUID] = []
        for i in range(count):
            if stop.is_set():
                break
            referring, receiving = ways[_turn(i, len(ways))]
            ahead = ahead or _keys_ahead(desks, ways, i, min(KEYS_AHEAD, count - i))
            pair = {Side.REFERRING: desks[referring], Side.RECEIVING: desks[receiving]}
            story = history(i, count, now, receiving, minor=i % 3 == 0)
            clock.at = story.opened_at
            corridor = trust.corridor(referring, receiving)
            case_id = _open(pair[Side.REFERRING], ahead.pop(0), story.opening,
                            corridor.deadlines if corridor and corridor.deadlines else Deadlines())
            last = [s.move.path for s in story.steps].index(stage(i))
            for step in story.steps[: last + 1]:
                if stop.is_set() or step.at > now:
                    break
                clock.at = step.at
                _record(pair, desks, case_id, step.move, trust)
                steps += 1
            cases += 1
            progress.advance(task)
    return Seeded(cases, steps, time.perf_counter() - began)


@contextmanager
def _commits_unsynced() -> Iterator[None]:
    """The SQLite connections made meanwhile commit without waiting for the disk each
    time (`synchronous=NORMAL`; the stores are in WAL mode, so a crash cannot corrupt
    them, and a power cut loses at most the last demo steps): it halves the seeding's
    time. The nodes, other processes, keep SQLite's default."""
    create = SQLiteConnectionPool._create_connection

    def unsynced(pool: SQLiteConnectionPool) -> SQLiteConnection:
        connection = create(pool)
        connection.cursor().execute("PRAGMA synchronous=NORMAL")
        return connection

    SQLiteConnectionPool._create_connection = unsynced  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SQLiteConnectionPool._create_connection = create  # type: ignore[method-assign]


def _turn(i: int, corridors: int) -> int:
    """The corridor of case `i`: with three, the first (XA-NRM -> XB-NRM, the busiest)
    has four cases in six, the others one each."""
    return (0, 1, 0, 0, 2, 0)[i % 6] if corridors == 3 else i % corridors


def stage(i: int) -> str:
    """The last step case `i` takes, if its history has come that far by now."""
    return STAGES[(i // STALLED) % (len(STAGES) - 1)] if i % STALLED == 0 else STAGES[-1]


def _desk(member: Member, directory: Path, clock: FixedClock) -> SeedingAgency:
    settings = member.settings()
    app = application(settings, clock)
    tables = sidecar(settings)  # the node's own
    return SeedingAgency(member.agency, app, kafka_exchange(app, member.agency, member.data_dir,
                                                   UNUSED_BROKER, directory, keys=member.keys(),
                                                   deliveries=Deliveries(tables)), tables.close)


def _keys_ahead(desks: dict[str, SeedingAgency], ways: list[tuple[str, str]], first: int,
                count: int) -> list[uuid.UUID]:
    """The ids of the next `count` cases, each case's key made ahead at both agencies of its
    corridor: one commit of each agency's key table for them all, not one a case."""
    case_ids = [uuid.uuid4() for _ in range(count)]
    at: dict[str, list[uuid.UUID]] = {}
    for i, case_id in enumerate(case_ids, first):
        for agency in ways[_turn(i, len(ways))]:
            at.setdefault(agency, []).append(case_id)
    for agency, ids in at.items():
        desks[agency].app.keys.prepare(ids)
    return case_ids


def _open(desk: SeedingAgency, case_id: uuid.UUID, opening: dict[str, Any],
          deadlines: Deadlines) -> uuid.UUID:
    body = OpenCase.model_validate({**opening, "id": str(case_id)})
    actor = Actor(desk.agency, f"{desk.agency.lower()}-caseworker", frozenset({Role.CASEWORKER}))
    return desk.app.open_case(body, actor, deadlines).id


def _record(pair: dict[Side, SeedingAgency], desks: dict[str, SeedingAgency],
            case_id: uuid.UUID, move: Move, trust: Directory) -> None:
    owner = pair[move.side]
    roles = {Role.CASEWORKER, Role.SUPERVISOR} if move.supervisor else {Role.CASEWORKER}
    who = Actor(owner.agency, f"{owner.agency.lower()}-caseworker", frozenset(roles))
    owner.app.record(case_id, move.path, move.body, who)
    _cross(owner, desks, trust)


def _cross(sender: SeedingAgency, desks: dict[str, SeedingAgency], trust: Directory) -> None:
    """What the sender's relay would send its partners since last time, each message taken
    in by its recipient's inbox: verified, opened, checked, recorded once. The sender keeps
    each as sent and receipted, with the hash of the fact its partner recorded, as the
    partner's receipt would have it: once the nodes run, the relay sends these messages
    again (the partners skip them) without waiting for receipts to stop sending them."""
    relay = sender.exchange.relay
    inboxes = {topics.inbox(d.agency): d.exchange.inbox for d in desks.values()}
    found = sender.app.recorder.select_notifications(sender.sent + 1, 500)
    if not found:
        return
    sender.sent = found[-1].id
    for message in relay.messages(list(found)):
        inbox = inboxes.get(message.topic)
        if inbox is None:
            continue  # milestones: the relay sends them once the nodes run
        value = relay.sealed(message, trust)
        assert value is not None
        recorded = inbox.apply(inbox.verify(value))
        assert recorded is not None
        sender.delivered.append((message.sent, recorded.last_hash))
    if len(sender.delivered) >= 100:
        sender.keep_delivered()
