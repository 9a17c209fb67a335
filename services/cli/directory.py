"""`homeward directory init|add|corridor|rotate|show|check`: the trust directory, kept
by an operator (docs/setting-up.md). The work is done in services/exchange/entries.py.

Which agency, keys and directory file: `--agency`, `--key-dir`, `--directory` and
`--data-dir`, else HOMEWARD_AGENCY, HOMEWARD_KEY_DIR, HOMEWARD_DIRECTORY and
HOMEWARD_DATA_DIR, as the node itself finds them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from events.deadlines import Deadlines
from services.exchange import entries
from services.exchange.directory import Directory, directory_path, load, save
from services.files import default_key_dir
from services.logs.events import configure, operational
from services.settings import SettingsError, environment


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--agency", help="this node's agency (default: HOMEWARD_AGENCY)")
    where.add_argument("--data-dir", type=Path, help="default: HOMEWARD_DATA_DIR")
    where.add_argument("--key-dir", type=Path, help="default: HOMEWARD_KEY_DIR, else "
                       "<data dir>.keys")
    where.add_argument("--directory", type=Path, help="the directory file (default: "
                       "HOMEWARD_DIRECTORY, else <data dir>/directory.json)")
    parser = commands.add_parser("directory", help="make and keep the trust directory")
    verbs = parser.add_subparsers(dest="verb", required=True)
    init = verbs.add_parser("init", parents=[where],
                            help="this agency's public entry, to send to partners")
    init.add_argument("--url", help="where partners reach this node (https://...)")
    init.add_argument("--output", type=Path, help="write the entry here (default: print it)")
    add = verbs.add_parser("add", parents=[where], help="a partner's entry, once accepted")
    add.add_argument("file", type=Path)
    add.add_argument("--accept", action="store_true",
                     help="accept without asking (after checking the fingerprints)")
    corridor = verbs.add_parser("corridor", help="the corridors between agencies")
    corridor_verbs = corridor.add_subparsers(dest="corridor_verb", required=True)
    agree = corridor_verbs.add_parser("add", parents=[where], help="agree a corridor")
    agree.add_argument("referring")
    agree.add_argument("receiving")
    agree.add_argument("--deadlines", type=Path, metavar="PROFILE",
                       help="a JSON file of the corridor's deadlines (default: DOMAIN.md's)")
    rotate = verbs.add_parser("rotate", parents=[where], help="a new signing or sealing key")
    rotate.add_argument("kind", choices=["signing", "sealing"])
    rotate.add_argument("--overlap-days", type=float, default=7.0,
                        help="the old key stays valid (and kept) this long (default 7)")
    rotate.add_argument("--valid-days", type=float, default=365.0,
                        help="the new key's validity (default 365; 0: no end)")
    rotate.add_argument("--output", type=Path, help="write the new entry here")
    verbs.add_parser("show", parents=[where], help="every agency, key and corridor")
    verbs.add_parser("check", parents=[where],
                     help="exit 1 naming what is wrong (expired key, unknown agency, ...)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        agency = args.agency or environment("agency")
        data_dir = args.data_dir or environment("data_dir") or (
            Path("var") / agency.lower() if agency else None)
        path = args.directory or environment("directory")
        if path is None and data_dir is None:
            raise SettingsError("name the directory: --directory, HOMEWARD_DIRECTORY, "
                                "--data-dir or HOMEWARD_AGENCY")
        path = directory_path(data_dir, path) if data_dir is not None else path
        key_dir = args.key_dir or environment("key_dir") or (
            default_key_dir(data_dir) if data_dir is not None else None)
        directory = load(path)
    except SettingsError as error:
        return _fail(str(error))
    except ValueError as error:  # the file does not parse: say where, keep it as it is
        return _fail(f"the directory {path} is not readable: {str(error).splitlines()[0]}")
    verb = args.verb if args.verb != "corridor" else "corridor add"
    if verb in ("init", "rotate") and (agency is None or key_dir is None):
        return _fail(f"{verb} needs this node's agency: --agency or HOMEWARD_AGENCY")
    try:
        return VERBS[verb](args, directory, path, agency, key_dir)
    except (OSError, ValueError) as error:
        return _fail(str(error).splitlines()[0])


def _init(args: argparse.Namespace, directory: Directory, path: Path, agency: str | None,
          key_dir: Path | None) -> int:
    assert agency is not None and key_dir is not None
    entry = entries.own_entry(directory, key_dir, agency, args.url)
    save(path, entries.accepted(directory, entry))
    _hand_out(entry, args.output)
    return 0


def _add(args: argparse.Namespace, directory: Directory, path: Path, agency: str | None,
         key_dir: Path | None) -> int:
    entry = entries.Entry.from_file(json.loads(args.file.read_text(encoding="utf-8")))
    if agency is not None and entry.agency == agency:
        return _fail(f"{args.file} is this node's own entry ({agency}); `init` keeps it")
    print("\n".join(entries.describe(entry)))
    known = entries.entry_of(directory, entry.agency)
    if known is not None:
        print(f"(replaces what the directory lists for {entry.agency})")
    if not args.accept:
        if not sys.stdin.isatty():
            return _fail(f"not added: check these fingerprints with {entry.agency} over "
                         "another channel, then add it again with --accept")
        if input(f"Trust {entry.agency} with these keys? [y/N] ").strip().lower() not in (
                "y", "yes"):
            print("not added")
            return 1
    save(path, entries.accepted(directory, entry))
    print(f"{entry.agency} added to {path}")
    return 0


def _corridor(args: argparse.Namespace, directory: Directory, path: Path, agency: str | None,
              key_dir: Path | None) -> int:
    deadlines = (Deadlines.model_validate_json(args.deadlines.read_text(encoding="utf-8"))
                 if args.deadlines else None)
    save(path, entries.with_corridor(directory, args.referring, args.receiving, deadlines))
    print(f"corridor {args.referring} -> {args.receiving} in {path}")
    for unknown in {args.referring, args.receiving} - set(directory.agencies):
        print(f"note: {unknown} is not in the directory yet (add its entry)", file=sys.stderr)
    return 0


def _rotate(args: argparse.Namespace, directory: Directory, path: Path, agency: str | None,
            key_dir: Path | None) -> int:
    assert agency is not None and key_dir is not None
    configure(agency)  # the rotation is an operational event, logged as the node logs
    valid = timedelta(days=args.valid_days) if args.valid_days > 0 else None
    changed, done = entries.rotate(directory, key_dir, agency, args.kind, datetime.now(UTC),
                                   timedelta(days=args.overlap_days), valid)
    save(path, changed)
    operational("key rotated", agency=agency, kind=done.kind, key_id=done.key_id,
                old_until=done.old_until.isoformat())
    print(f"new {done.kind} key {done.key_id}; the earlier one valid until "
          f"{done.old_until.isoformat()}", file=sys.stderr)
    entry = entries.entry_of(changed, agency)
    assert entry is not None
    _hand_out(entry, args.output)
    return 0


def _show(args: argparse.Namespace, directory: Directory, path: Path, agency: str | None,
          key_dir: Path | None) -> int:
    print(f"{path}:")
    print("\n".join(entries.show(directory)))
    return 0


def _check(args: argparse.Namespace, directory: Directory, path: Path, agency: str | None,
           key_dir: Path | None) -> int:
    found = entries.problems(directory)
    if agency is not None and agency not in directory.agencies and agency != entries.MONITOR:
        found.append(f"{agency}: this node's own agency is not in the directory "
                     "(`homeward directory init`)")
    for line in found:
        print(f"{path}: {line}")
    if found:
        return 1
    print(f"{path}: {len(directory.agencies)} agencies, {len(directory.corridors)} corridors: ok")
    return 0


def _hand_out(entry: entries.Entry, output: Path | None) -> None:
    text = json.dumps(entry.to_file(), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}; send it to your partners with these fingerprints:",
              file=sys.stderr)
    print("\n".join(entries.describe(entry)), file=sys.stderr)


def _fail(line: str) -> int:
    print(f"homeward directory: {line}", file=sys.stderr)
    return 2


Verb = Callable[[argparse.Namespace, Directory, Path, "str | None", "Path | None"], int]
VERBS: dict[str, Verb] = {"init": _init, "add": _add, "corridor add": _corridor, "rotate": _rotate,
         "show": _show, "check": _check}
