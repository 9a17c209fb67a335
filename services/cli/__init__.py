"""The `homeward` command line: one sub-command per module of this package, registered
below. These modules parse arguments and call the core; the core hosts no argparse."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

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
from services.files import private_process

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrations() -> list[Register]:
    return [run.register, serve.register, token.register, broker.register, audit.register,
            projections.register, schemas.register, deadletters.register, directory.register]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="homeward", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for register in _registrations():
        register(commands)
    args = parser.parse_args(argv)
    private_process()  # what any command creates (stores, keys, logs) is private from birth
    result: int = args.handler(args)
    return result
