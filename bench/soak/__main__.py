"""`python -m bench.soak --minutes N`: the soak of the embedded network (`make soak`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench._figures import Figure, save
from bench.soak.faults import KINDS
from bench.soak.run import RSS_BOUND_MIB, SETTLE, Options, Report, soak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=None, help="default: drawn and printed")
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--no-malformed", dest="malformed", action="store_false",
                        help="inject no malformed records")
    parser.add_argument("--broker-store", default=None, metavar="URL",
                        help="the broker's log in this store (postgres://...); default memory")
    parser.add_argument("--rss-bound-mib", type=int, default=RSS_BOUND_MIB)
    parser.add_argument("--settle", type=float, default=SETTLE,
                        help="seconds to converge after the traffic")
    parser.add_argument("--faults", default=",".join(KINDS),
                        help=f"the kinds of fault injected, of {', '.join(KINDS)}")
    parser.add_argument("--stages", type=int, default=5, choices=range(1, 6),
                        help="the cases go, in turn, as far as each of the first N stages of "
                             "referral, acceptance, reception, departure, follow-up")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="default: a temporary directory, removed after a passing run")
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.faults.split(",") if k)
    if set(kinds) - set(KINDS):
        parser.error(f"--faults: unknown {', '.join(sorted(set(kinds) - set(KINDS)))}")
    try:
        report = soak(Options(args.minutes, args.seed, args.cases, args.malformed,
                              args.broker_store or None, args.rss_bound_mib, args.data_dir,
                              args.settle, kinds, args.stages),
                      say=lambda line: print(line, flush=True))
    except RuntimeError as error:  # the network did not start: its output says why
        print(f"soak: {error}", file=sys.stderr)
        return 2
    print(report.summary(), flush=True)
    save_memory(report)
    if not report.ok:
        print(f"soak: failed: {'; '.join(report.verdict.failed)}", file=sys.stderr)
    return 0 if report.ok else 1


def save_memory(report: Report) -> None:
    """The largest node's peak resident memory over the soak, beside the board bench's
    `node.rss_mib`, in var/bench.json (the broker, not a node, left out)."""
    peaks = report.verdict.figures.get("memory peak (MiB)") or {}
    nodes = [mib for name, mib in peaks.items() if name != "broker"]
    if nodes:
        save({"soak.node_rss_mib": Figure(max(nodes), "MiB", None, None,
                                          "< 250")})


if __name__ == "__main__":
    sys.exit(main())
