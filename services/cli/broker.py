"""`homeward broker`: the local Kafka-compatible broker in the foreground, for development."""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from types import FrameType

from services.backends.broker import BrokerError, LocalBroker


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "broker", help="run the local Kafka-compatible broker until Ctrl-C"
    )
    parser.add_argument("--port", type=int, default=9092, help="listen on 127.0.0.1:PORT")
    parser.add_argument(
        "--log-dir", type=Path, default=Path("var/broker"), help="where the broker log goes"
    )
    parser.set_defaults(handler=run_broker)


def run_broker(args: argparse.Namespace) -> int:
    broker = LocalBroker(port=args.port, log_dir=args.log_dir)
    # SIGTERM (e.g. from a process manager) stops it as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        broker.start()
    except BrokerError as error:
        print(f"homeward broker: {error}")
        return 1
    print(f"broker ready at {broker.bootstrap} (log: {broker.log_path}); Ctrl-C stops it")
    try:
        while broker.is_running():
            time.sleep(0.5)
        print(f"homeward broker: the broker exited on its own; see {broker.log_path}")
        return 1
    except KeyboardInterrupt:
        print("stopping the broker")
        return 0
    finally:
        broker.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
