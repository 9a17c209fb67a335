"""`homeward deadletters list|show|replay`: the inbox's dead letters for an operator.

`list` prints one line per dead letter (and the relay's own, events it could not send);
`show OFFSET` its clear header and reason (never personal data: the message stays sealed);
`replay OFFSET...` puts each back on the node's inbox after its cause was fixed."""

from __future__ import annotations

import argparse
import json
import sys

from services.bootstrap import RELAY_DEAD_LETTERS, kafka
from services.exchange import deadletters, topics
from services.settings import SettingsError, load


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("deadletters", help="list, show and replay dead letters")
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="every dead letter: offset, reason, message")
    show = verbs.add_parser("show", help="one dead letter's header and reason")
    show.add_argument("offset", type=int)
    replay = verbs.add_parser("replay", help="put dead letters back on the inbox")
    replay.add_argument("offsets", type=int, nargs="+")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if not settings.kafka_bootstrap:
        print("HOMEWARD_KAFKA_BOOTSTRAP: no broker to read dead letters from", file=sys.stderr)
        return 2
    clients = kafka(settings)
    found = {d.offset: d for d in deadletters.read(clients.reader(), settings.agency)}
    if args.verb == "list":
        for d in found.values():
            head = d.header
            print(f"{d.offset:>6}  {d.reason[:80]:80}  {head.get('schema', '(not sealed)')} "
                  f"{head.get('message_id', '')} from {head.get('sender', '?')}")
        relay = deadletters.relay_dead_letters(settings.home / RELAY_DEAD_LETTERS)
        for entry in relay:
            print(f"relay   {entry['reason'][:80]:80}  {entry['type']} v{entry['version']} "
                  f"(notification {entry['notification_id']})")
        print(f"{len(found)} dead letter(s) in {topics.deadletter(settings.agency)}; "
              f"{len(relay)} event(s) the relay could not send")
        return 0
    wanted = [args.offset] if args.verb == "show" else args.offsets
    missing = [o for o in wanted if o not in found]
    if missing:
        print(f"no dead letter at offset {', '.join(map(str, missing))}", file=sys.stderr)
        return 1
    if args.verb == "show":
        print(json.dumps(found[args.offset].summary(), indent=2))
        return 0
    producer = clients.producer()
    try:
        for offset in wanted:
            try:
                at = deadletters.replay(producer, settings.agency, found[offset])
            except ValueError as error:
                print(f"{offset}: {error}", file=sys.stderr)
                return 1
            print(f"{offset}: replayed to {topics.inbox(settings.agency)} at offset {at}")
    finally:
        producer.close(timeout=5)
    return 0
