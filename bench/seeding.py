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
from pathlib import Path

from bench._figures import Figure, save
from bench._raw import Raw, raw_saves
from services.network.members import members, trust
from services.network.seed import seed
from tests.harness.stores import sqlite_env


def raw_rate(path: Path, count: int) -> float:
    """Events a second that raw eventsourcing saves in a fresh SQLite file."""
    app = Raw(env=sqlite_env(path))
    try:
        return count / raw_saves(app, count)
    finally:
        app.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        nodes = members(home, 18001, agencies=2)
        seeded = seed(nodes[:2], args.cases, trust(home, nodes), show=False)
        raw = raw_rate(home / "raw.sqlite", 2 * seeded.steps)
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
