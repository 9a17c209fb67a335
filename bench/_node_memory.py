"""A node's resident memory with the board's 20,000 cases: run by bench/board.py in a process
of its own, on the data directory whose read store the board bench filled.

    .venv/bin/python -m bench._node_memory DATA_DIR

Builds the agency node as `homeward run` does (SQLite, no broker), starts it (its
projection worker), asks the board and the hand-offs through its HTTP API a few times over,
and prints the process's VmRSS in MiB (a number on its own line).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from services.clock import FixedClock
from tests.harness.builders import T0
from tests.harness.http_nodes import http_node

PAGES = ("/v1/cases?open=true", "/v1/cases", "/v1/cases?offset=5000", "/v1/cases?sort=recent",
         "/v1/cases?overdue=true&sort=overdue", "/v1/handoffs")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    return float("nan")


def main() -> int:
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    http = http_node(Path(sys.argv[1]), "XA-NRM", FixedClock(T0))
    http.node.start()
    try:
        for _ in range(5):
            for page in PAGES:
                answer = http.client.get(page, headers=http.headers("caseworker"))
                if answer.status_code != 200:
                    print(f"{page}: {answer.status_code} {answer.text[:200]}", file=sys.stderr)
                    return 1
        total = http.client.get("/v1/cases", headers=http.headers("caseworker")).json()["total"]
        print(f"node: {total:,} cases on its board", file=sys.stderr)
        print(f"{rss_mib():.1f}")
    finally:
        http.client.close()
        http.node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
