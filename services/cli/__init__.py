"""The `homeward` command line: one sub-command per module, registered below."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from services import audit, network, projections_command
from services.api import commands as api_commands
from services.contract import check as schemas_check
from services.exchange import broker_command

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrations() -> list[Register]:
    # Each command lives beside the code it drives; this list only wires them in.
    return [network.register, api_commands.register, broker_command.register, audit.register,
            projections_command.register, schemas_check.register]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="homeward", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for register in _registrations():
        register(commands)
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
