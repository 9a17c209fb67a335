"""`homeward schemas check`: every schema valid, its examples valid, its versions
compatible (services/contract/check.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from services.contract.check import check, summary
from services.contract.registry import SCHEMAS_DIR


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schemas = commands.add_parser("schemas", help="the cross-border contract in schemas/")
    actions = schemas.add_subparsers(dest="schemas_command", required=True)
    check_cmd = actions.add_parser(
        "check",
        help="validate every schema, its examples and its compatibility with earlier versions",
    )
    check_cmd.add_argument("--dir", type=Path, default=SCHEMAS_DIR, help="schemas directory")
    check_cmd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    schemas_dir: Path = args.dir
    if not schemas_dir.is_dir():
        print(f"{schemas_dir}: not a directory")
        return 1
    problems = check(schemas_dir)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(summary(schemas_dir))
    return 0
