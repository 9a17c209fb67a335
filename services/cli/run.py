"""`homeward run`: the embedded network of three agencies on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from services.backends.broker import MEMORY
from services.network import embedded


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser("run", help="the embedded network: broker, three agencies, a monitor")
    run.add_argument("--data-dir", type=Path, default=Path("var"))
    run.add_argument("--demo-cases", type=int, default=0, metavar="N",
                     help="seed N cases at different stages, spread over the past 18 months")
    run.add_argument("--agencies", type=int, choices=(2, 3), default=3,
                     help="three agencies and their three corridors, or XA-NRM and XB-NRM "
                          "and their one corridor")
    run.add_argument("--base-port", type=int, default=8001,
                     help="XA-NRM listens here, XB-NRM on the next port, the monitor on the "
                          "one after, XC-NRM on base + 3")
    run.add_argument("--broker-port", type=int, default=None,
                     help="default: 9092 if free, else any free port")
    run.add_argument("--broker-store", default=MEMORY, metavar="URL",
                     help="where the broker keeps its log: tansu's storage engine URL, e.g. "
                          "postgres://user@host/db (default: memory, lost at each restart)")
    run.set_defaults(handler=run_network)


def run_network(args: argparse.Namespace) -> int:
    return embedded.run(args.data_dir, args.base_port, args.broker_port, args.demo_cases,
                        args.broker_store, args.agencies)
