"""Command and load rates of the application beside raw eventsourcing, same store, same run.

    .venv/bin/python -m bench.commands [--quick] [--cases 40] [--events 3000]
                                       [--postgres URL | --no-postgres]

On SQLite (a temp dir) and PostgreSQL (a fresh schema, dropped afterwards):
  raw       a trivial Aggregate with one @event method, one event a save, with the
            node's AES-GCM cipher and without; a load of an aggregate as long as a case.
  Homeward  whole repatriations of the demo walk (services/network/demo_cases.py): the referring agency's steps through
            Homeward.record (each loads the case, checks the rules, saves one event),
            the partner's steps fed through Homeward.receive; then Homeward.case loads.
Then, on SQLite only, the HTTP API through FastAPI's TestClient (in-process, no network):
POST /v1/cases/{id}/<step> and GET /v1/cases/{id}, beside the bare Homeward calls.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.table import Table

from bench._figures import Figure, save
from bench._raw import Counter, Raw, raw_saves
from events.steps import STEPS, OpenCase
from events.values import Received, Side
from services.application import Homeward
from services.network.demo_cases import RECEIVING, REFERRING, Move, repatriation
from tests.harness.stores import encrypted, homeward, sqlite_store
from tests.harness.support import eventsourcing_postgres_env
from tests.harness.walks import actor

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


class Rates:
    """Rows of (what, store, count, seconds, baseline row for the ratio)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, float, str | None]] = []

    def add(self, what: str, store: str, count: int, seconds: float,
            against: str | None = None) -> float:
        self.rows.append((what, store, count, seconds, against))
        return count / seconds

    def rate(self, what: str, store: str) -> float:
        return next(c / s for w, st, c, s, _ in self.rows if w == what and st == store)

    def table(self) -> Table:
        table = Table(title="commands and loads, per second (one thread, same run)")
        for name in ("what", "store", "n", "seconds", "per second", "ratio", "against"):
            table.add_column(name, justify="left" if name in ("what", "against") else "right")
        for what, store, count, seconds, against in self.rows:
            ratio = f"{count / seconds / self.rate(against, store):.3f}" if against else ""
            table.add_row(what, store, str(count), f"{seconds:.2f}",
                          f"{count / seconds:,.0f}", ratio, against or "")
        return table


def timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- raw eventsourcing -------------------------------------------------------------------

ROUNDS = 10  # the raw loads' rounds, each side's in turn


def raw_loads(apps: dict[str, Raw], length: int, count: int) -> dict[str, float]:
    """Seconds for `count` loads of an aggregate `length` events long, of each app. The
    apps load in turns, a tenth of the loads a turn: measured one after the other, the
    second met another disk, page cache and collector than the first, and the ratio of two
    runs moved from 0.74 to 1.4."""
    ids = {}
    for label, app in apps.items():
        counter = Counter()
        for n in range(length - 1):
            counter.tick(n)
        app.save(counter)
        ids[label] = counter.id
    seconds = dict.fromkeys(apps, 0.0)
    for turn in range(ROUNDS):
        for label, app in apps.items():
            each = count // ROUNDS + (turn < count % ROUNDS)
            began = time.perf_counter()
            for _ in range(each):
                app.repository.get(ids[label])
            seconds[label] += time.perf_counter() - began
    return seconds


def raw_cycles(app: Raw, length: int, aggregates: int) -> tuple[int, float]:
    """Load, change, save: what a command does, on aggregates growing to `length` events."""
    ids = []
    for _ in range(aggregates):
        counter = Counter()
        app.save(counter)
        ids.append(counter.id)

    def run() -> None:
        for counter_id in ids:
            for n in range(length - 1):
                counter: Counter = app.repository.get(counter_id)
                counter.tick(n)
                app.save(counter)

    return aggregates * (length - 1), timed(run)


def measure_raw(rates: Rates, store: str, env: dict[str, str], events: int,
                length: int, loads: int) -> None:
    apps = {"plain": Raw(env=env), "AES-GCM": Raw(env=encrypted(env))}
    try:
        # The encrypted saves, the commands' baseline, are timed in turns with the commands
        # (`SavesInTurns`), not here.
        rates.add("raw save, 1 event (plain)", store, events, raw_saves(apps["plain"], events))
        for label, seconds in raw_loads(apps, length, loads).items():
            rates.add(f"raw load, {length} events ({label})", store, loads, seconds,
                      f"raw load, {length} events (plain)" if label != "plain" else None)
        # The fair baseline of a command, which loads before it saves.
        rates.add(f"raw load+save, 1..{length} events (AES-GCM)", store,
                  *raw_cycles(apps["AES-GCM"], length, max(1, events // (4 * length))),
                  "raw save, 1 event (AES-GCM)")
    finally:
        for app in apps.values():
            app.close()


# --- Homeward ----------------------------------------------------------------------------

def partner_fact(move: Move) -> dict[str, Any]:
    """The receiving agency's step as its message would carry it (validated, no nulls)."""
    step = STEPS[move.path]
    payload: dict[str, Any] = step.body.model_validate(move.body).model_dump(
        mode="json", exclude_none=True)
    # As the partner's codec sends it: what a local-only field says, never the field.
    if step.for_partner is not None:
        payload = step.for_partner(payload)
    payload = {k: v for k, v in payload.items() if k not in step.local_only}
    if step.sided:
        payload["side"] = "receiving"
    return payload


def walk(app: Homeward, case_id: UUID, moves: list[Move],
         local: Callable[[Move], None]) -> tuple[int, float, int, float]:
    """Play a story: own steps through `local` (timed), the partner's through receive."""
    own = facts = 0
    own_s = facts_s = 0.0
    for move in moves:
        if move.side is Side.REFERRING:
            own_s += timed(lambda m=move: local(m))  # type: ignore[misc]
            own += 1
        else:
            facts += 1
            received = Received(RECEIVING, str(uuid.uuid4()), "0" * 64, facts)
            facts_s += timed(lambda m=move, r=received: app.receive(  # type: ignore[misc]
                case_id, STEPS[m.path].message_type, partner_fact(m), r))
    return own, own_s, facts, facts_s


class SavesInTurns:
    """Raw encrypted saves, a share at each turn of the commands. Timed in one block
    before them, the saves met another disk than the commands (a commit's fsync is most of
    both), and the same tree's ratio went from 0.39 to 0.73 within an hour."""

    def __init__(self, env: dict[str, str], events: int, turns: int) -> None:
        self.app = Raw(env=encrypted(env))
        self.each, self.turns = max(1, events // turns), turns
        self.count, self.seconds = 0, 0.0

    def turn(self) -> None:
        self.seconds += raw_saves(self.app, self.each)
        self.count += self.each

    def close(self) -> None:
        self.app.close()


TURNS = 10  # the commands' turns, each followed by its share of the raw saves


def measure_homeward(rates: Rates, store: str, env: dict[str, str], cases: int,
                     loads: int, saves: SavesInTurns) -> None:
    app = homeward(encrypted(env))
    story = repatriation(datetime.now(UTC).date())
    opens = own = facts = 0
    open_s = own_s = facts_s = 0.0
    case_id = uuid.uuid4()
    every = max(1, cases // saves.turns)
    try:
        for number in range(cases):
            if number % every == 0:
                saves.turn()
            body = OpenCase.model_validate(story.opening)
            began = time.perf_counter()
            case_id = app.open_case(body, actor(story.moves[0])).id
            open_s += time.perf_counter() - began
            opens += 1

            def record(move: Move, c: UUID = case_id) -> None:
                app.record(c, move.path, move.body, actor(move))

            n, s, f, fs = walk(app, case_id, story.moves, record)
            own, own_s, facts, facts_s = own + n, own_s + s, facts + f, facts_s + fs
        length = app.case(case_id).version
        rates.add("Homeward.open_case", store, opens, open_s, "raw save, 1 event (AES-GCM)")
        rates.add("Homeward.record (own steps)", store, own, own_s,
                  "raw save, 1 event (AES-GCM)")
        rates.add("Homeward.receive (partner's)", store, facts, facts_s,
                  "raw save, 1 event (AES-GCM)")
        rates.add(f"Homeward.case ({length} events)", store, loads,
                  timed(lambda: [app.case(case_id) for _ in range(loads)]),
                  f"raw load, {length} events (AES-GCM)")
    finally:
        app.close()


def run_store(rates: Rates, store: str, env: dict[str, str], args: argparse.Namespace,
              memory: list[tuple[str, float]]) -> None:
    # The story's length decides how long the raw aggregate loaded beside a case is.
    length = 1 + len(repatriation(datetime.now(UTC).date()).moves)
    measure_raw(rates, store, env, args.events, length, args.loads)
    memory.append((f"after raw ({store})", peak_rss_mb()))
    saves = SavesInTurns(env, args.events, TURNS)
    try:
        measure_homeward(rates, store, env, args.cases, args.loads, saves)
    finally:
        saves.close()
    rates.add("raw save, 1 event (AES-GCM)", store, saves.count, saves.seconds,
              "raw save, 1 event (plain)")
    memory.append((f"after Homeward ({store})", peak_rss_mb()))


# --- the HTTP API ------------------------------------------------------------------------

def measure_http(rates: Rates, home: Path, cases: int, loads: int) -> None:
    """A whole node on SQLite (as `homeward run` builds it) behind FastAPI's TestClient."""
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from services.api.identity.auth import issue
    from services.bootstrap import build_node, jwt_secret
    from services.settings import load

    node = build_node(load(agency=REFERRING, data_dir=home))
    # Entered, so one event loop serves every request (else each request starts its own).
    client = TestClient(create_app(node)).__enter__()
    token = issue(jwt_secret(node.settings), "xa-nrm-worker", REFERRING, ["caseworker"],
                  datetime.now(UTC), 1.0)
    story = repatriation(datetime.now(UTC).date())
    plain = keyed = 0
    plain_s = keyed_s = 0.0
    case_id = uuid.uuid4()
    try:
        for i in range(cases):
            headers = {"Authorization": f"Bearer {token}"}
            opened = client.post("/v1/cases", json=story.opening, headers=headers)
            if opened.status_code != 201:
                raise SystemExit(f"bench: POST /v1/cases: {opened.status_code} {opened.text}")
            case_id = UUID(opened.json()["id"])
            if i % 2:  # half the cases as a client that retries safely would send them
                headers["Idempotency-Key"] = ""

            def post(move: Move, c: UUID = case_id, h: dict[str, str] = headers) -> None:
                if "Idempotency-Key" in h:
                    h["Idempotency-Key"] = str(uuid.uuid4())
                answer = client.post(f"/v1/cases/{c}/{move.path}", json=move.body, headers=h)
                if answer.status_code != 200:
                    raise SystemExit(f"bench: POST {move.path}: {answer.status_code} "
                                     f"{answer.text}")

            n, s, _, _ = walk(node.app, case_id, story.moves, post)
            if i % 2:
                keyed, keyed_s = keyed + n, keyed_s + s
            else:
                plain, plain_s = plain + n, plain_s + s
        length = node.app.case(case_id).version
        rates.add("HTTP POST step", "SQLite", plain, plain_s, "Homeward.record (own steps)")
        if keyed:
            rates.add("HTTP POST step + Idempotency-Key", "SQLite", keyed, keyed_s,
                      "Homeward.record (own steps)")
        headers = {"Authorization": f"Bearer {token}"}

        def get() -> None:
            for _ in range(loads):
                if client.get(f"/v1/cases/{case_id}", headers=headers).status_code != 200:
                    raise SystemExit("bench: GET /v1/cases/{id} failed")

        rates.add(f"HTTP GET case ({length} events)", "SQLite", loads, timed(get),
                  f"Homeward.case ({length} events)")
    finally:
        client.__exit__(None, None, None)
        node.close()


# --- the stores --------------------------------------------------------------------------

def postgres(url: str) -> tuple[dict[str, str], Callable[[], None]] | str:
    """A fresh schema and a way to drop it, or why PostgreSQL is not measured."""
    try:
        import psycopg

        schema = f"bench_commands_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as error:  # any failure to reach it: report and go on with SQLite
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return eventsourcing_postgres_env(url, schema), drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the default work")
    parser.add_argument("--cases", type=int, default=40, help="whole repatriations per store")
    parser.add_argument("--events", type=int, default=3000, help="raw saves per store")
    parser.add_argument("--loads", type=int, default=500, help="case loads per store")
    parser.add_argument("--requests", type=int, default=20, help="cases walked over HTTP")
    parser.add_argument("--postgres", default=PG_URL, help=f"default {PG_URL}")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if args.quick:
        for name in ("cases", "events", "loads", "requests"):
            setattr(args, name, max(2, getattr(args, name) // 5))
    console = Console()
    if console.width < 150:  # not a terminal (make bench): rich would wrap at 80
        console = Console(width=150)
    rates = Rates()
    memory = [("start", peak_rss_mb())]
    notes: list[str] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run_store(rates, "SQLite", sqlite_store(Path(tmp) / "events.sqlite"), args, memory)
        measure_http(rates, Path(tmp) / "node", args.requests, args.loads // 2)
        memory.append(("after HTTP (SQLite)", peak_rss_mb()))
        if args.no_postgres:
            notes.append("PostgreSQL: skipped (--no-postgres)")
        else:
            reached = postgres(args.postgres)
            if isinstance(reached, str):
                notes.append(f"PostgreSQL: skipped, {args.postgres} not reachable ({reached})")
            else:
                env, drop = reached
                try:
                    run_store(rates, "PostgreSQL", env, args, memory)
                finally:
                    drop()
    console.print(rates.table())
    console.print("ratio = this rate / the 'against' rate of the same store in this run. "
                  "Homeward.record loads the case (replaying its events) before it saves; "
                  "HTTP rows are in-process (TestClient: no network, no TLS) and include the JWT check, "
                  "metrics and, for GET, the access-log row a caseworker's read writes.")
    for store in dict.fromkeys(row[1] for row in rates.rows if row[0].startswith("raw")):
        cycle = next(w for w, st, *_ in rates.rows if st == store and "load+save" in w)
        console.print(f"{store}: Homeward.record / {cycle} = "
                      f"{rates.rate('Homeward.record (own steps)', store) / rates.rate(cycle, store):.3f}")
    for note in notes:
        console.print(note)
    console.print("peak RSS (MiB): " + ", ".join(f"{w} {mb:.0f}" for w, mb in memory))
    console.print(f"total {time.perf_counter() - began:.1f} s; referring agency {REFERRING}")
    save(figures(rates))
    return 0


def figures(rates: Rates) -> dict[str, Figure]:
    """The file's figures, from the SQLite rows of this run."""
    load = next(w for w, *_ in rates.rows if w.startswith("raw load,") and w.endswith("(plain)"))
    plain = rates.rate(load, "SQLite")
    sealed = rates.rate(load.replace("(plain)", "(AES-GCM)"), "SQLite")
    saves = rates.rate("raw save, 1 event (AES-GCM)", "SQLite")
    record = rates.rate("Homeward.record (own steps)", "SQLite")
    return {
        "store.plain_load_per_s": Figure(plain, "loads/s"),
        "store.encrypted_load_per_s": Figure(sealed, "loads/s", sealed / plain,
                                             "store.plain_load_per_s"),
        "store.encrypted_load_ratio": Figure(sealed / plain, "ratio", sealed / plain,
                                             "store.plain_load_per_s", ">= 0.8"),
        "raw.encrypted_save_per_s": Figure(saves, "events/s"),
        "command.record_per_s": Figure(record, "commands/s", record / saves,
                                       "raw.encrypted_save_per_s"),
        "command.record_ratio": Figure(record / saves, "ratio", record / saves,
                                       "raw.encrypted_save_per_s", ">= 0.6"),
    }


if __name__ == "__main__":
    sys.exit(main())
