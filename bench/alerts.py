"""The monitor's alert loop at 20,000 cases, on SQLite and PostgreSQL: the CPU time of one
`Alerts.tick` (the node runs it every second while a subscription is active) once the
escalations and overdue clocks of those cases were all delivered.

    .venv/bin/python -m bench.alerts [--cases 20000] [--rounds 7]
                                     [--postgres URL | --no-postgres]

The monitor node is built as `homeward run` builds it (`build_monitor`) on a read store of
its own; its documents are merged from the milestones of cases over 18 months on two
corridors (tests/harness/monitor_history.py: most closed, some escalated, some still on
the way), through the node's view, so each escalation raises its deliveries as it does
in service. One subscription asks for every event; its receiver accepts everything, so
the first tick finds the overdue clocks and delivers every delivery. Then, the clock one
second on each time, CPU time (`time.process_time`, the least of `--rounds`) of:
a tick with nothing written since the last (`alerts.tick_ms`); a tick after 50 case
documents were written again (`alerts.tick_50_written_ms`); the first tick of the alerts
of a node started afresh on the same store (`alerts.first_tick_ms`, a restart's scan of
every case, the baseline the others' ratios are taken against).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from bench._figures import Figure, save
from bench._postgres import postgres_env
from services.alerts.subscriptions import EVENTS
from services.alerts.watch import Alerts
from services.bootstrap import build_monitor, read_store_for
from services.clock import FixedClock
from services.settings import load
from tests.harness.monitor_history import NOW, generated
from tests.harness.stores import sqlite_env

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 500


def least_cpu_ms(work: Callable[[], object], rounds: int,
                 before: Callable[[], object] = lambda: None) -> float:
    out = []
    for _ in range(rounds):
        before()
        start = time.process_time()
        work()
        out.append((time.process_time() - start) * 1000)
    return min(out)


def measure(label: str, env: Mapping[str, str], args: argparse.Namespace, tmp: Path
            ) -> dict[str, float]:
    clock = FixedClock(NOW)
    store = read_store_for(env)
    node = build_monitor(load(agency="monitor", data_dir=tmp / f"monitor-{label}"), clock,
                         store=store)
    pushed = node.pushed
    assert pushed is not None

    def accept(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        return 200

    pushed.deliveries.send = accept
    pushed.subscriptions.create({"url": "https://alerts.example.org/hook",
                                 "events": list(EVENTS)}, NOW)
    milestones, _ = generated(args.cases)
    started = time.perf_counter()
    for i in range(0, len(milestones), BATCH):
        node.view.record(milestones[i:i + BATCH])
    delivered = pushed.tick()
    while pushed.deliveries.due():
        delivered += pushed.tick()
    print(f"{label}: {args.cases:,} cases ({len(milestones):,} milestones) and "
          f"{delivered:,} deliveries, all delivered, in {time.perf_counter() - started:.0f} s")

    def tick(alerts: Alerts) -> Callable[[], object]:
        def run() -> None:
            clock.advance(seconds=1)
            if alerts.tick() != 0:
                raise SystemExit("bench: a tick found something to deliver again")
        return run

    cases = sorted({case for case, _ in milestones})
    written = [0]

    def write_50() -> None:
        # The milestones of 50 cases merged again: their documents written (the same).
        chosen = set(cases[written[0]:written[0] + 50])
        written[0] += 50
        node.view.record([m for m in milestones if m[0] in chosen])

    out = {"tick_ms": least_cpu_ms(tick(pushed), args.rounds),
           "tick_50_written_ms": least_cpu_ms(tick(pushed), args.rounds, write_50)}
    firsts = []
    for _ in range(args.rounds):
        fresh = Alerts(store, clock.now)  # a node started afresh: its first tick
        firsts.append(least_cpu_ms(tick(fresh), 1))
    out["first_tick_ms"] = min(firsts)
    print(f"  tick {out['tick_ms']:.1f} ms CPU, after 50 written {out['tick_50_written_ms']:.1f}"
          f" ms, a restart's first {out['first_tick_ms']:.1f} ms (least of {args.rounds})")
    node.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--postgres", default=PG_URL)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Figure] = {}
    with tempfile.TemporaryDirectory() as tmp:
        got = measure("SQLite", sqlite_env(Path(tmp) / "events.sqlite"), args, Path(tmp))
        # Against the tick that reads every case (a start's), measured in the same run.
        figures["alerts.first_tick_ms"] = Figure(got["first_tick_ms"], "ms CPU")
        figures["alerts.tick_ms"] = Figure(got["tick_ms"], "ms CPU",
                                           got["tick_ms"] / got["first_tick_ms"],
                                           "alerts.first_tick_ms")
        figures["alerts.tick_50_written_ms"] = Figure(
            got["tick_50_written_ms"], "ms CPU", got["tick_50_written_ms"] / got["first_tick_ms"],
            "alerts.first_tick_ms")
        if not args.no_postgres:
            with postgres_env(args.postgres) as env:
                if env is not None:
                    got = measure("PostgreSQL", env, args, Path(tmp))
                    figures["alerts.postgres_first_tick_ms"] = Figure(got["first_tick_ms"],
                                                                      "ms CPU")
                    figures["alerts.postgres_tick_ms"] = Figure(
                        got["tick_ms"], "ms CPU", got["tick_ms"] / got["first_tick_ms"],
                        "alerts.postgres_first_tick_ms")
    save(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
