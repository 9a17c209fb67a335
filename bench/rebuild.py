"""Rebuild rate of the read models beside the raw notification-log read rate, same run.

    .venv/bin/python -m bench.rebuild [--cases 3000] [--postgres URL]

Fills a fresh store with cases walked to different stages, then times (1) reading the
whole notification log in batches, as a projection does, without decoding, and (2)
rebuilding each read model from zero. Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench._figures import Figure, save
from services.anchors.audit import StoreAudit, trusted
from services.anchors.store import Anchors
from services.anchors.sweep import Sweep
from services.application import Homeward
from services.backends import case_keys_for, of_store
from services.backends.sqlite import SQLiteTables
from services.bootstrap import gap_barrier, read_store_for
from services.readside.runner import runners
from services.readside.store import ReadStore
from tests.harness.referring_node import DEPARTED, HOME, READY, ReferringNode
from tests.harness.stores import encrypted, sqlite_env
from tests.harness.support import eventsourcing_postgres_env

BATCH = 500


def environment(args: argparse.Namespace, tmp: Path) -> dict[str, str]:
    if not args.postgres:
        return sqlite_env(tmp / "events.sqlite")
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return encrypted(eventsourcing_postgres_env(args.postgres, schema))


def fill(referring: ReferringNode, cases: int) -> int:
    stages = [READY[:2], READY, DEPARTED, HOME]
    for i in range(cases):
        referring.run(referring.open(), stages[i % len(stages)])
    return referring.app.recorder.max_notification_id() or 0


def read_rate(referring: ReferringNode, decode: bool = False) -> tuple[int, float]:
    began, start, count = time.perf_counter(), 1, 0
    while True:
        batch = referring.app.recorder.select_notifications(start=start, limit=BATCH)
        if not batch:
            return count, time.perf_counter() - began
        if decode:  # decrypt and rebuild the event objects, as every projection must
            for notification in batch:
                referring.app.mapper.to_domain_event(notification)
        count += len(batch)
        start = batch[-1].id + 1


TURNS = 3  # the raw read and each rebuild, in turns


def in_turns(referring: ReferringNode, store: ReadStore
             ) -> tuple[int, float, dict[str, tuple[int, float]]]:
    """The raw read and each read model's rebuild, in turns: the events and seconds of
    each, summed over the turns. Timed once each, one after the other, the raw read and the
    rebuild met different disks, page caches and neighbours, and the same tree's ratio moved
    from 0.21 to 0.31 between runs."""
    read = seconds = 0.0
    rebuilt: dict[str, tuple[int, float]] = {}
    for _ in range(TURNS):
        count, took = read_rate(referring)
        read, seconds = read + count, seconds + took
        for runner in runners(referring.app, store, gap_barrier(referring.app)):
            result = runner.rebuild()
            events, spent = rebuilt.get(result.name, (0, 0.0))
            rebuilt[result.name] = (events + result.events, spent + result.seconds)
    return int(read), seconds, rebuilt


def verify_rate(env: dict[str, str], tables: Path, raw: float) -> dict[str, Figure]:
    """`homeward audit verify` of the whole store as the command line runs it: one worker
    process per core over ranges of cases, each opening the store and the checkpoints'
    tables itself (services/anchors/sweep.py), the processes' start included."""
    def opener() -> StoreAudit:
        app, backend = Homeward(env, keys_for=case_keys_for), of_store(env)
        assert backend is not None
        return StoreAudit(app, Anchors(SQLiteTables(tables)), "XA-NRM", trusted(None, None),
                          lambda case_ids: backend.stored_events(app, case_ids))

    audit, events = opener(), 0
    began = time.perf_counter()
    with Sweep(audit, opener) as sweep:
        for audited in sweep:
            events += audited.events
            if audited.faults:
                raise SystemExit(f"bench: the chain of {audited.case_id} does not verify")
    rate = events / (time.perf_counter() - began)
    print(f"audit verify: {events} events in {events / rate:.3f} s = {rate:,.0f} events/s "
          f"({sweep.processes} process(es))")
    audit.app.close()
    return {"audit.verify_events_per_s": Figure(rate, "events/s", rate / raw,
                                                "rebuild.raw_read_per_s", ">= 50,000")}


def drop(args: argparse.Namespace, env: dict[str, str]) -> None:
    if args.postgres:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{env["POSTGRES_SCHEMA"]}" CASCADE')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(args, Path(tmp))
        try:
            referring = ReferringNode(env)
            began = time.perf_counter()
            events = fill(referring, args.cases)
            print(f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.cases} cases, "
                  f"{events} events written in {time.perf_counter() - began:.1f} s")
            store = read_store_for(env)
            read, seconds, rebuilt = in_turns(referring, store)
            raw = read / seconds
            print(f"notification log read: {read} events in {seconds:.3f} s = {raw:,.0f} events/s"
                  f" ({TURNS} turns)")
            read, seconds = read_rate(referring, decode=True)
            print(f"  read and decoded:      {read} events in {seconds:.3f} s = "
                  f"{read / seconds:,.0f} events/s")
            figures = {"rebuild.raw_read_per_s": Figure(raw, "events/s")}
            for name, (events, seconds) in rebuilt.items():
                rate = events / seconds
                print(f"rebuild {name}: {events} events in {seconds:.3f} s = {rate:,.0f} "
                      f"events/s; {rate / raw:.3f} of the raw read rate ({TURNS} turns)")
                figures[f"rebuild.{name}_per_s"] = Figure(
                    rate, "events/s", rate / raw, "rebuild.raw_read_per_s")
                figures[f"rebuild.{name}_ratio"] = Figure(
                    rate / raw, "ratio", rate / raw, "rebuild.raw_read_per_s",
                    ">= 0.25" if name == "board" else None)
            store.close()
            referring.app.close()
            figures.update(verify_rate(env, Path(tmp) / "api.sqlite", raw))
            save(figures)
        finally:
            drop(args, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
