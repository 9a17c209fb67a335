"""Board and hand-off queries at 20,000 cases, of which 1,000 open, on SQLite and
PostgreSQL, beside the raw read of one page of documents by key, same store, same run.

    .venv/bin/python -m bench.board [--cases 20000] [--open 1000] [--queries 300]
                                    [--postgres URL | --no-postgres]

The read store is filled directly (documents and their index rows, in batches), from
the documents of real cases walked to different stages and copied under new ids,
partners and times: a node's history without walking it. Then each query the board page
and the API make (open cases, by status, by partner, overdue, the hand-offs, pages deep
into the list) is timed as `ReadModels` answers it: the page found by the index, its
documents read, each entry worked out at the query's time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench._figures import Figure, median, percentile, save
from bench._postgres import postgres_env
from events.values import Status
from projections.board import BoardFilters, Order, board_row
from projections.handoffs import HandoffFilters, handoff_row
from services.bootstrap import read_models, read_store_for
from services.readside.queries import ReadModels
from services.readside.store import ReadStore
from tests.harness.builders import T0
from tests.harness.referring_node import DEPARTED, HOME, READY, ReferringNode
from tests.harness.stores import sqlite_env

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PARTNERS = ["XB-NRM", "XC-NRM", "XD-NRM", "XE-NRM"]


def templates(tmp: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Real board documents: (open ones, closed ones), and hand-off documents."""
    referring = ReferringNode(sqlite_env(tmp / "templates.sqlite"))
    for stage in (READY[:2], READY[:4], READY, [*READY, "transport"], DEPARTED,
                  [*DEPARTED, "arrival"], HOME, [*HOME, "closure"], ["asylum-claim"]):
        referring.run(referring.open(), stage)
    models = read_models(referring.app)
    models.refresh()
    docs = list(models.store.all("board").values())
    handoffs = list(models.store.all("handoffs").values())
    models.close()
    referring.app.close()
    ended = [d for d in docs if board_row(d, T0.date()).status in ("closed", "declined")]
    return [d for d in docs if d not in ended], ended, handoffs


def fill(store: ReadStore, cases: int, open_cases: int, tmp: Path) -> None:
    """`cases` copies of real documents, `open_cases` of them open, written in batches."""
    live, ended, handoffs = templates(tmp)
    by_id = {h["id"]: h for h in handoffs}
    every = max(1, cases // open_cases)
    today = T0.date()
    for start in range(0, cases, 2000):
        docs: dict[str, Any] = {}
        trips: dict[str, Any] = {}
        for i in range(start, min(start + 2000, cases)):
            is_open = i % every == 0 and i // every < open_cases
            source = live[i % len(live)] if is_open else ended[i % len(ended)]
            key = str(uuid.UUID(int=i + 1))
            at = T0 - timedelta(days=400) + timedelta(minutes=29 * i)
            docs[key] = {**source, "id": key, "partner": PARTNERS[i % len(PARTNERS)],
                         "updated_at": at.isoformat()}
            trip = by_id.get(source["id"])
            if trip is not None:
                trips[key] = {**trip, "id": key, "partner": docs[key]["partner"]}
        store.commit("board", docs, index={k: board_row(d, today) for k, d in docs.items()})
        store.commit("handoffs", trips, index={k: handoff_row(d) for k, d in trips.items()})
    analyse = getattr(store, "analyse", None)
    if analyse is not None:
        analyse("board")
        analyse("handoffs")


def queries(models: ReadModels) -> list[tuple[str, Callable[[], object]]]:
    now = T0 + timedelta(days=1)
    board = models.board

    def page(**f: Any) -> Callable[[], object]:
        return lambda: board(BoardFilters(**f), now)

    return [
        ("open, urgent first", page(open=True)),
        ("open, second page", page(open=True, offset=50)),
        ("open, page 10", page(open=True, offset=500)),
        ("all, urgent first", page()),
        ("all, page 100", page(offset=5000)),
        ("referred", page(status=Status.REFERRED)),
        ("on hold", page(status=Status.ON_HOLD)),
        ("partner, open", page(partner="XC-NRM", open=True)),
        ("overdue, longest first", page(overdue=True, sort=Order.OVERDUE)),
        ("recent", page(sort=Order.RECENT)),
        ("hand-offs", lambda: models.handoff_page(HandoffFilters(), now)),
        ("hand-offs overdue", lambda: models.handoff_page(HandoffFilters(overdue=True), now)),
    ]


def measure(name: str, env: dict[str, str], args: argparse.Namespace, tmp: Path
            ) -> tuple[list[float], list[float]]:
    store = read_store_for(env)
    began = time.perf_counter()
    fill(store, args.cases, args.open, tmp)
    print(f"{name}: {args.cases:,} cases ({args.open:,} open) written in "
          f"{time.perf_counter() - began:.1f} s")
    models = ReadModels.over(store)  # the queries alone: no event store to follow
    asked = queries(models)
    timings: list[float] = []
    per: dict[str, list[float]] = {q: [] for q, _ in asked}
    for i in range(args.queries):
        what, ask = asked[i % len(asked)]
        start = time.perf_counter()
        ask()
        took = (time.perf_counter() - start) * 1000
        timings.append(took)
        per[what].append(took)
    # The raw library: one page of 50 documents read by key, nothing worked out.
    keys = [str(uuid.UUID(int=i + 1)) for i in range(0, 50 * 40, 40)]
    raw = []
    for _ in range(max(20, args.queries // 10)):
        start = time.perf_counter()
        store.load("board", keys)
        raw.append((time.perf_counter() - start) * 1000)
    for what, ms in per.items():
        print(f"  {what:<24} p50 {median(ms):6.1f} ms  p99 {percentile(ms, 99):6.1f} ms")
    print(f"  all queries: p50 {median(timings):.1f} ms, p99 {percentile(timings, 99):.1f} ms; "
          f"raw read of 50 documents by key: p50 {median(raw):.1f} ms")
    store.close()
    return timings, raw


def node_rss_mib(data_dir: Path) -> float:
    """The resident memory of an agency node built on the filled read store, in a process
    of its own (bench/_node_memory.py), after it answered the board's pages."""
    done = subprocess.run([sys.executable, "-m", "bench._node_memory", str(data_dir)],
                          capture_output=True, text=True, timeout=600)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"bench: the node on the board's store failed ({done.returncode})")
    mib = float(done.stdout.split()[-1])
    print(f"node: resident memory {mib:.0f} MiB after answering the board")
    return mib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--open", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres", default=PG_URL)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Figure] = {}
    with tempfile.TemporaryDirectory() as tmp:
        timings, raw = measure("SQLite", sqlite_env(Path(tmp) / "events.sqlite"), args,
                               Path(tmp))
        figures["board.raw_page_read_p50_ms"] = Figure(median(raw), "ms")
        figures["board.query_p50_ms"] = Figure(median(timings), "ms")
        figures["board.query_p99_ms"] = Figure(
            percentile(timings, 99), "ms", percentile(timings, 99) / median(raw),
            "board.raw_page_read_p50_ms", "< 50 at 20,000 cases")
        figures["node.rss_mib"] = Figure(node_rss_mib(Path(tmp)), "MiB", None, None,
                                         f"< 250 at {args.cases:,} cases")
        if not args.no_postgres:
            with postgres_env(args.postgres) as env:
                if env is not None:
                    timings, raw = measure("PostgreSQL", env, args, Path(tmp))
                    figures["board.postgres_raw_page_read_p50_ms"] = Figure(median(raw), "ms")
                    figures["board.postgres_query_p99_ms"] = Figure(
                        percentile(timings, 99), "ms", percentile(timings, 99) / median(raw),
                        "board.postgres_raw_page_read_p50_ms", "< 50 at 20,000 cases")
    save(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
