"""`homeward run`: the embedded network of one corridor on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from services.backends.broker import MEMORY
from services.network import embedded


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser("run", help="the embedded network: broker, two agencies, a monitor")
    run.add_argument("--data-dir", type=Path, default=Path("var"))
    run.add_argument("--demo-cases", type=int, default=0, metavar="N",
                     help="seed N cases at different stages")
    run.add_argument("--base-port", type=int, default=8001,
                     help="XA-NRM listens here, XB-NRM on the next port, the monitor after")
    run.add_argument("--broker-port", type=int, default=None,
                     help="default: 9092 if free, else any free port")
    run.add_argument("--broker-store", default=MEMORY, metavar="URL",
                     help="where the broker keeps its log: tansu's storage engine URL, e.g. "
                          "postgres://user@host/db (default: memory, lost at each restart)")
    run.set_defaults(handler=run_network)


def run_network(args: argparse.Namespace) -> int:
    return embedded.run(args.data_dir, args.base_port, args.broker_port, args.demo_cases,
                        args.broker_store)
