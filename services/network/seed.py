"""Seeding the embedded network with demo cases at different stages, through the
application: each agency's caseworkers record their steps on its own store, and each
step's message crosses to the partner as it would over Kafka (signed and sealed by the
relay's code, opened, checked and recorded by the inbox's), only without the broker, so
a case takes milliseconds rather than a broker's round trips.

It runs before the nodes start, on their stores. Once they run, each relay sends what
it has not yet sent, these messages included; the partner's inbox finds each one
recorded and skips it (a redelivery changes nothing), and the monitor gets its
milestones then. `stop` ends it between two steps: a case may be left part-way, as a
caseworker would leave it.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.progress import Progress

from events.deadlines import Deadlines
from events.steps import OpenCase
from events.values import Actor, Role, Side
from services.application import Homeward
from services.bootstrap import application, kafka_exchange
from services.exchange import topics
from services.exchange.directory import Directory, DirectoryFile
from services.exchange.exchange import Exchange
from services.network.demo_cases import Move, repatriation
from services.network.members import Member

# How far each demo case gets: referred, accepted, ready to travel, in transit, home.
STAGES = ["referral", "acceptance", "reception", "departure", "follow-up"]
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


def seed(xa: Member, xb: Member, count: int, directory: Path,
         stop: threading.Event | None = None, show: bool = True) -> Seeded:
    """Seed up to `count` cases; stops early (between two steps) once `stop` is set."""
    stop = stop or threading.Event()
    trust = DirectoryFile(directory).current()
    desks = {Side.REFERRING: _desk(xa, directory), Side.RECEIVING: _desk(xb, directory)}
    corridor = trust.corridor(xa.agency, xb.agency)
    deadlines = corridor.deadlines if corridor and corridor.deadlines else Deadlines()
    today = datetime.now(UTC).date()
    began, cases, steps = time.perf_counter(), 0, 0
    try:
        with Progress(disable=not show) as progress:
            task = progress.add_task("seeding demo cases", total=count)
            for i in range(count):
                if stop.is_set():
                    break
                story = repatriation(today, minor=i % 3 == 0, receiving=xb.agency)
                case_id = _open(desks[Side.REFERRING], story.opening, deadlines)
                last = [m.path for m in story.moves].index(STAGES[i % len(STAGES)])
                for move in story.moves[: last + 1]:
                    if stop.is_set():
                        break
                    _record(desks, case_id, move, trust)
                    steps += 1
                cases += 1
                progress.advance(task)
    finally:
        for desk in desks.values():
            desk.close()
    return Seeded(cases, steps, time.perf_counter() - began)


def _desk(member: Member, directory: Path) -> Desk:
    app = application(member.settings())
    return Desk(member.agency, app, kafka_exchange(app, member.agency, member.data_dir,
                                                   UNUSED_BROKER, directory, keys=member.keys()))


def _open(desk: Desk, opening: dict[str, object], deadlines: Deadlines) -> uuid.UUID:
    body = OpenCase.model_validate({**opening, "id": str(uuid.uuid4())})
    actor = Actor(desk.agency, f"{desk.agency.lower()}-caseworker", frozenset({Role.CASEWORKER}))
    return desk.app.open_case(body, actor, deadlines).id


def _record(desks: dict[Side, Desk], case_id: uuid.UUID, move: Move, trust: Directory) -> None:
    owner = desks[move.side]
    partner = desks[Side.RECEIVING if move.side is Side.REFERRING else Side.REFERRING]
    roles = {Role.CASEWORKER, Role.SUPERVISOR} if move.supervisor else {Role.CASEWORKER}
    who = Actor(owner.agency, f"{owner.agency.lower()}-caseworker", frozenset(roles))
    owner.app.record(case_id, move.path, move.body, who)
    _cross(owner, partner, trust)


def _cross(sender: Desk, partner: Desk, trust: Directory) -> None:
    """What the sender's relay would send the partner since last time, taken in by the
    partner's inbox: verified, opened, checked, recorded once."""
    relay, inbox = sender.exchange.relay, partner.exchange.inbox
    found = sender.app.recorder.select_notifications(sender.sent + 1, 500)
    if not found:
        return
    sender.sent = found[-1].id
    for message in relay.messages(list(found)):
        if message.topic != topics.inbox(partner.agency):
            continue  # milestones: the relay sends them once the nodes run
        value = relay.sealed(message, trust)
        assert value is not None
        inbox.apply(inbox.verify(value))
