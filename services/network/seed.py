"""Seeding the embedded network with demo cases at different stages, through the
application: each agency's caseworkers record their steps on its own store, and each
step's message crosses to the partner as it would over Kafka (signed and sealed by the
relay's code, opened, checked and recorded by the inbox's), only without the broker, so
a case takes milliseconds rather than a broker's round trips.

The cases take turns on the directory's corridors, and each step is recorded at the time
its history gives it (`history`: the cases spread over the past 18 months), the stores'
clock set to that time: the events, the messages and the milestones are the step's own.

It runs before the nodes start, on their stores. Once they run, each relay sends what
it has not yet sent, these messages included; the partner's inbox finds each one
recorded and skips it (a redelivery changes nothing), and the monitor gets its
milestones then: for a few hundred cases, a few minutes during which a new case's
messages wait behind those on their partition. `stop` ends it between two steps: a case
may be left part-way, as a caseworker would leave it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool
from rich.progress import Progress

from events.deadlines import Deadlines
from events.steps import OpenCase
from events.values import Actor, Role, Side
from services.application import Homeward
from services.bootstrap import application, kafka_exchange
from services.clock import FixedClock
from services.exchange import topics
from services.exchange.directory import Directory, DirectoryFile
from services.exchange.exchange import Exchange
from services.network.demo_cases import Move
from services.network.history import history
from services.network.members import Member, corridors

# How far a demo case gets: referred, accepted, ready to travel, in transit, home. Each
# fifth case stalls at one of the first four stages in turn; the others go as far as their
# history has come by now, the older ones home and followed up.
STAGES = ["referral", "acceptance", "reception", "departure", "follow-up"]
STALLED = 5
UNUSED_BROKER = "127.0.0.1:9"  # the exchange's Kafka clients are never made here


@dataclass
class Desk:
    """One agency while seeding: its application, and its exchange's relay and inbox."""

    agency: str
    app: Homeward
    exchange: Exchange
    sent: int = 0  # the notifications whose messages were passed to the partner

    def close(self) -> None:
        self.app.close()


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
        for i in range(count):
            if stop.is_set():
                break
            referring, receiving = ways[_turn(i, len(ways))]
            pair = {Side.REFERRING: desks[referring], Side.RECEIVING: desks[receiving]}
            story = history(i, count, now, receiving, minor=i % 3 == 0)
            clock.at = story.opened_at
            corridor = trust.corridor(referring, receiving)
            case_id = _open(pair[Side.REFERRING], story.opening,
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


def _desk(member: Member, directory: Path, clock: FixedClock) -> Desk:
    app = application(member.settings(), clock)
    return Desk(member.agency, app, kafka_exchange(app, member.agency, member.data_dir,
                                                   UNUSED_BROKER, directory, keys=member.keys()))


def _open(desk: Desk, opening: dict[str, Any], deadlines: Deadlines) -> uuid.UUID:
    body = OpenCase.model_validate({**opening, "id": str(uuid.uuid4())})
    actor = Actor(desk.agency, f"{desk.agency.lower()}-caseworker", frozenset({Role.CASEWORKER}))
    return desk.app.open_case(body, actor, deadlines).id


def _record(pair: dict[Side, Desk], desks: dict[str, Desk], case_id: uuid.UUID, move: Move,
            trust: Directory) -> None:
    owner = pair[move.side]
    roles = {Role.CASEWORKER, Role.SUPERVISOR} if move.supervisor else {Role.CASEWORKER}
    who = Actor(owner.agency, f"{owner.agency.lower()}-caseworker", frozenset(roles))
    owner.app.record(case_id, move.path, move.body, who)
    _cross(owner, desks, trust)


def _cross(sender: Desk, desks: dict[str, Desk], trust: Directory) -> None:
    """What the sender's relay would send its partners since last time, each message taken
    in by its recipient's inbox: verified, opened, checked, recorded once."""
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
        inbox.apply(inbox.verify(value))
