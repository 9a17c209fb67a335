"""Demo seeding (`homeward run --demo-cases N`) beside raw eventsourcing saves, same run.

    .venv/bin/python -m bench.seeding [--cases 100]

Seeds N demo cases as `homeward run` does, on two agencies' fresh SQLite stores (each
step recorded at its owner and its message signed, sealed, opened, checked and recorded
at the partner), then saves as many events with a bare eventsourcing aggregate under
the same cipher. Each seeded step writes two events (the step and the partner's fact).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench._figures import Figure, save
from services.network.members import members, trust
from services.network.seed import seed
from tests.harness.stores import sqlite_env


class Counter(Aggregate):
    @event("Ticked")
    def tick(self, n: int) -> None:
        self.n = n


class Raw(Application[UUID]):
    name = "rawseed"


def raw_saves(path: Path, count: int) -> float:
    app = Raw(env=sqlite_env(path))
    counter = Counter()
    app.save(counter)
    began = time.perf_counter()
    for n in range(count):
        counter.tick(n)
        app.save(counter)
    seconds = time.perf_counter() - began
    app.close()
    return count / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        nodes = members(home, 18001, agencies=2)
        seeded = seed(nodes[:2], args.cases, trust(home, nodes), show=False)
        raw = raw_saves(home / "raw.sqlite", 2 * seeded.steps)
    steps = 2 * seeded.steps / seeded.seconds
    print(f"seeded {seeded.cases} cases, {seeded.steps} steps, in {seeded.seconds:.1f} s: "
          f"{seeded.rate:.1f} cases/s, {steps:,.0f} events/s; raw encrypted saves {raw:,.0f}/s")
    save({
        "demo.raw_save_per_s": Figure(raw, "events/s"),
        "demo.seed_events_per_s": Figure(steps, "events/s", steps / raw, "demo.raw_save_per_s"),
        "demo.seed_cases_per_s": Figure(seeded.rate, "cases/s", steps / raw,
                                        "demo.raw_save_per_s", ">= 20"),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
