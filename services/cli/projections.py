"""`homeward projections rebuild [NAME]`: drop read models and fold the store into them
again, with a progress bar and the rate achieved."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.bootstrap import application, deadlines_of, gap_barrier, read_store_for
from services.readside.runner import PROJECTIONS, ProjectionRunner, Rebuilt, runners
from services.settings import SettingsError, load


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("projections", help="read models")
    actions = parser.add_subparsers(dest="action", required=True)
    rebuild = actions.add_parser("rebuild", help="rebuild read models from the event store")
    rebuild.add_argument("name", nargs="?", choices=sorted(PROJECTIONS),
                         help="one read model (default: all)")
    rebuild.set_defaults(handler=rebuild_command)


def rebuild_command(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        settings = load()
        if settings.agency == "monitor":
            console.print("the monitor's view is built from homeward.monitoring, not a store: "
                          "reset its consumer group to read the topic again")
            return 2
        app = application(settings)
    except SettingsError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    store = read_store_for(app.env)
    try:
        for runner in runners(app, store, gap_barrier(app), [args.name] if args.name else None,
                              deadlines_of(settings)):
            result = rebuild_with_progress(runner, console)
            print(f"{result.name}: {result.events} events in {result.seconds:.2f} s "
                  f"({result.rate:,.0f} events/s)")
    finally:
        store.close()
        app.close()
    return 0


def rebuild_with_progress(runner: ProjectionRunner, console: Any | None = None) -> Rebuilt:
    total = runner.recorder.max_notification_id() or 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console or Console(stderr=True), transient=False) as bar:
        task = bar.add_task(f"rebuilding {runner.name}", total=total)
        result = runner.rebuild(lambda n: bar.advance(task, n))
        bar.update(task, completed=total)
    return result
