"""`homeward audit`: an auditor replays a case's timeline, verifies the hash chains,
and exports a timeline file for a court or an inspector.

An export with personal data is a read of the case's personal data like any other: it
is written to the access log (who: `--by`, else the operating-system user; why:
`--purpose`), and its file is readable by its owner only (mode 0600)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.table import Table

from events.audit import verify_chain
from projections.timeline import render_html, rows, timeline_file
from services.api.access import AccessLog
from services.application import CaseNotFound, Homeward
from services.bootstrap import application, sidecar
from services.clock import SystemClock
from services.settings import Settings, SettingsError, load


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="replay, verify and export case timelines")
    verbs = audit.add_subparsers(dest="verb", required=True)
    timeline = verbs.add_parser("timeline", help="print a case's timeline")
    timeline.add_argument("case_id", type=UUID)
    verify = verbs.add_parser("verify", help="check the hash chains; exit 1 on any break")
    verify.add_argument("case_id", type=UUID, nargs="?")
    export = verbs.add_parser("export", help="write a timeline file")
    export.add_argument("case_id", type=UUID)
    export.add_argument("--format", choices=["json", "html"], default="json")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.add_argument("--personal", action="store_true",
                        help="include personal data (default: protected fields are redacted)")
    export.add_argument("--by", help="who exports, for the access log (default: cli:<user>)")
    export.add_argument("--purpose", help="why personal data is exported, for the access log")
    audit.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load()
        app = application(settings)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        if args.verb == "timeline":
            return show_timeline(app, args.case_id)
        if args.verb == "verify":
            return verify(app, [args.case_id] if args.case_id else app.case_ids())
        if args.personal:  # a read of personal data: on the record before anything leaves
            app.case(args.case_id)
            reader = Reader(settings.agency, args.by or f"cli:{getpass.getuser()}", args.purpose)
            log_export(settings, args.case_id, reader, args.format)
        return export(app, args.case_id, args.format, args.output, args.personal)
    except CaseNotFound as missing:
        print(f"no such case: {missing}", file=sys.stderr)
        return 1
    finally:
        app.close()


@dataclass(frozen=True)
class Reader:
    """Who exports personal data, for the access log."""

    agency: str
    sub: str
    purpose: str | None


def show_timeline(app: Homeward, case_id: UUID) -> int:
    table = Table(title=f"case {case_id}")
    for column in ("seq", "occurred at", "type", "recorded by", "actor", "hash"):
        table.add_column(column)
    for row in rows(app.timeline(case_id), personal=False):
        table.add_row(str(row["seq"]), row["occurred_at"], row["type"], row["recorded_by"],
                      row["actor"], row["hash"][:16])
    Console().print(table)
    return 0


def verify(app: Homeward, case_ids: Iterable[UUID]) -> int:
    broken, checked = 0, 0
    for case_id in case_ids:
        checked += 1
        for fault in app.verify(case_id):
            broken += 1
            print(f"case {case_id}: {fault}")
    print(f"{checked} case(s) checked, {broken} break(s)")
    return 1 if broken else 0


def export(app: Homeward, case_id: UUID, fmt: str, output: Path | None,
           personal: bool = False) -> int:
    """Writes the timeline; `personal`, unredacted to a file only its owner can read (the
    command line has written the access log's entry first)."""
    events = app.timeline(case_id)
    breaks = verify_chain(events)
    document = timeline_file(case_id, events, breaks, personal)
    text = json.dumps(document, indent=2) if fmt == "json" else render_html(document, breaks)
    if output is None:
        sys.stdout.write(text + "\n")
    elif personal:
        write_private(output, text)
        print(f"wrote {output} (readable by its owner only)", file=sys.stderr)
    else:
        output.write_text(text)
        print(f"wrote {output}", file=sys.stderr)
    return 0


def log_export(settings: Settings, case_id: UUID, reader: Reader, fmt: str) -> None:
    tables = sidecar(settings)
    try:
        AccessLog(tables).record(case_id, reader.agency, reader.sub, f"export:{fmt}",
                                 reader.purpose, SystemClock().now())
    finally:
        tables.close()


def write_private(path: Path, text: str) -> None:
    """Writes `text` to a file only its owner can read, whatever the umask, even if the
    file was there before with wider permissions."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
