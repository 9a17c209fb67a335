"""The `homeward` command line: one sub-command per module of this package, registered
below. These modules parse arguments and call the core; the core hosts no argparse."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from services.cli.stopping import Stopped, stop_on_signals
from services.files import private_process

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrations() -> list[Register]:
    from services.cli import (
        audit,
        broker,
        deadletters,
        directory,
        projections,
        run,
        schemas,
        serve,
        token,
    )

    return [run.register, serve.register, token.register, broker.register, audit.register,
            projections.register, schemas.register, deadletters.register, directory.register]


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["serve"]:  # before the heavy imports: a stop while loading is clean too
        stop_on_signals()
    try:
        return _main(given)
    except Stopped:
        return 0


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="homeward", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for register in _registrations():
        register(commands)
    args = parser.parse_args(argv)
    private_process()  # what any command creates (stores, keys, logs) is private from birth
    result: int = args.handler(args)
    return result
