"""`homeward audit`: an auditor replays a case's timeline, verifies the hash chains,
and exports a timeline file for a court or an inspector.

An export with personal data is a read of the case's personal data like any other: it
is written to the access log (who: `--by`, else the operating-system user; why:
`--purpose`), and its file is readable by its owner only (mode 0600)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from projections.timeline import rows
from services.anchors.audit import StoreAudit
from services.anchors.case_file import case_file
from services.anchors.export import check
from services.anchors.remote import PartnerUnreachable, fetch_chain
from services.anchors.sweep import Opener, Sweep
from services.application import CaseNotFound, Homeward
from services.bootstrap import application, record_read, store_audit
from services.clock import SystemClock
from services.exchange.directory import load as load_directory
from services.settings import Settings, SettingsError, environment, load, secrets_dir
from services.signing import SigningKey, load_or_create


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="replay, verify and export case timelines")
    verbs = audit.add_subparsers(dest="verb", required=True)
    timeline = verbs.add_parser("timeline", help="print a case's timeline")
    timeline.add_argument("case_id", type=UUID)
    verify = verbs.add_parser("verify", help="check the hash chains; exit 1 on any break")
    verify.add_argument("case_id", type=UUID, nargs="?")
    verify.add_argument("--partner", metavar="URL",
                        help="also compare each case with the partner's node at URL")
    verify.add_argument("--workers", type=int, default=0, metavar="N",
                        help="processes checking the store's cases (default: one per core)")
    export = verbs.add_parser("export", help="write a timeline file")
    export.add_argument("case_id", type=UUID)
    export.add_argument("--format", choices=["json", "html"], default="json")
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.add_argument("--personal", action="store_true",
                        help="include personal data (default: protected fields are redacted)")
    export.add_argument("--by", help="who exports, in the file and the access log "
                        "(default: cli:<user>)")
    export.add_argument("--purpose", help="why it is exported, in the file (and the access "
                        "log, with --personal)")
    check_file = verbs.add_parser("check-export", help="check a signed export offline; exit 1 "
                                  "naming each altered line")
    check_file.add_argument("file", type=Path)
    check_file.add_argument("--directory", type=Path,
                            help="the trust directory (default: HOMEWARD_DIRECTORY, else "
                            "./directory.json)")
    audit.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.verb == "check-export":  # offline: the file and the trust directory only
        return check_export(args.file, args.directory)
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
            return verify_store(settings, app, args.case_id, args.partner, args.workers)
        by = args.by or f"cli:{getpass.getuser()}"
        if args.personal:  # a read of personal data: on the record before anything leaves
            app.case(args.case_id)
            record_read(settings, app, args.case_id, by, f"export:{args.format}", args.purpose)
        audit = store_audit(settings, app)
        try:
            return export(args.case_id, args.format, args.output, args.personal, audit,
                          load_or_create(secrets_dir(settings), settings.agency), by, args.purpose)
        finally:
            audit.anchors.db.close()
    except CaseNotFound as missing:
        print(f"no such case: {missing}", file=sys.stderr)
        return 1
    finally:
        app.close()


def show_timeline(app: Homeward, case_id: UUID) -> int:
    table = Table(title=f"case {case_id}")
    for column in ("seq", "occurred at", "type", "recorded by", "actor", "hash"):
        table.add_column(column)
    for row in rows(app.timeline(case_id), personal=False):
        table.add_row(str(row["seq"]), row["occurred_at"], row["type"], row["recorded_by"],
                      row["actor"], row["hash"][:16])
    Console().print(table)
    return 0


def verify_store(settings: Settings, app: Homeward, case_id: UUID | None,
                 partner: str | None, workers: int = 0) -> int:
    audit = store_audit(settings, app)
    cases = [case_id] if case_id else None
    try:
        if partner:
            return cross_check(audit, load_or_create(secrets_dir(settings), settings.agency),
                               partner, cases)
        return verify(audit, cases, lambda: store_audit(settings, application(settings)),
                      workers)
    finally:
        audit.anchors.db.close()


def verify(audit: StoreAudit, case_ids: Iterable[UUID] | None, opener: Opener | None = None,
           workers: int = 1) -> int:
    """Every case given, or the whole store's (each worker process opening the store with
    `opener`, one per core unless `workers` says), with a progress bar on a terminal."""
    broken, checked = 0, 0
    with Sweep(audit, opener, workers, case_ids) as sweep, Progress(
            transient=True, console=Console(stderr=True),
            disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("verifying", total=len(sweep.case_ids))
        for audited in sweep:
            checked += 1
            bar.advance(task)
            for fault in audited.faults:
                broken += 1
                print(f"case {audited.case_id}: {fault}")  # above the bar (rich redirects)
    print(f"{checked} case(s) checked, {broken} break(s)")
    return 1 if broken else 0


def cross_check(audit: StoreAudit, key: SigningKey, url: str,
                case_ids: Iterable[UUID] | None) -> int:
    """The store verified, then each case compared with the partner's node at `url`."""
    broken = verify(audit, case_ids)
    diverged = 0
    for audited in audit.cases(case_ids):
        partner = audit.partner_of(audited.case_id)
        try:
            theirs = fetch_chain(url, audited.case_id, key, partner, datetime.now(UTC))
        except PartnerUnreachable as error:
            print(f"case {audited.case_id}: not compared: {error}")
            diverged += 1
            continue
        found = audit.against(audited.case_id, partner, theirs)
        for number, divergence in enumerate(found):
            label = "first divergence" if number == 0 else "divergence"
            print(f"case {audited.case_id}: {label} with {partner}: {divergence}")
        diverged += len(found)
    print(f"compared with {url}: {diverged} divergence(s)")
    return 1 if broken or diverged else 0


def export(case_id: UUID, fmt: str, output: Path | None, personal: bool, audit: StoreAudit,
           key: SigningKey, by: str, purpose: str | None) -> int:
    """Writes the timeline file; `personal`, to a file only its owner can read (the
    command line has written the access log's entry first)."""
    text = case_file(audit, case_id, fmt, personal, key, by, purpose, SystemClock().now())
    if output is None:
        sys.stdout.write(text)
    elif personal:
        write_private(output, text)
        print(f"wrote {output} (readable by its owner only)", file=sys.stderr)
    else:
        output.write_text(text)
        print(f"wrote {output}", file=sys.stderr)
    return 0


def check_export(path: Path, directory: Path | None) -> int:
    """Checks an export offline against the trust directory alone; names altered lines."""
    try:
        trust = directory or environment("directory") or Path("directory.json")
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if not trust.exists():
        print(f"no trust directory at {trust} (--directory or HOMEWARD_DIRECTORY)",
              file=sys.stderr)
        return 2
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"cannot read {path}: {type(error).__name__}", file=sys.stderr)
        return 2
    try:
        listed = load_directory(trust)
    except (ValueError, OSError) as error:  # pydantic's ValidationError is a ValueError
        print(f"the trust directory {trust} is not readable: {type(error).__name__}",
              file=sys.stderr)
        return 2
    verdict = check(text, listed.key)
    for line in verdict.altered:
        print(f"{path}: line {line} was altered")
    for problem in verdict.problems:
        print(f"{path}: {problem}")
    if verdict.intact:
        print(f"{path}: intact, signed by {verdict.signer} (key {verdict.key_id})")
        return 0
    return 1


def write_private(path: Path, text: str) -> None:
    """Writes `text` to a file only its owner can read, whatever the umask, even if the
    file was there before with wider permissions."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
