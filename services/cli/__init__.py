"""The `homeward` command line: one sub-command per module of this package, registered
below. These modules parse arguments and call the core; the core hosts no argparse."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from services.cli.stopping import Stopped, stop_on_signals
from services.files import private_process

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


# Each sub-command's module, in the order `homeward -h` lists them.
COMMANDS = ("run", "serve", "token", "broker", "audit", "projections", "schemas",
            "deadletters", "directory")


def _registrations(argv: Sequence[str]) -> list[Register]:
    """The named sub-command's registration alone, or every one where none is named (help,
    a mistyped name): a command imports what it runs, not what every other one needs (the
    audit's, the broker's), about a second of a process's start."""
    named = [argv[0]] if argv[:1] and argv[0] in COMMANDS else COMMANDS
    return [import_module(f"services.cli.{name}").register for name in named]


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
    for register in _registrations(argv):
        register(commands)
    args = parser.parse_args(argv)
    private_process()  # what any command creates (stores, keys, logs) is private from birth
    result: int = args.handler(args)
    return result
