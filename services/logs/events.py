"""Operational events as log lines: what an operator needs to know happened (a node
started or stopped, a role taken or lost, the broker lost and back, a message
dead-lettered or undelivered, a key rotated, an erasure done, a subscription delivery
failing), each with the node it happened on and, where there is one, the case's
pseudonymous reference. Never personal data: callers pass codes, ids and counts only,
and a log line carries no exception text (its type only), since an exception's text may
quote what it was given.

`configure` sends every log record of the process (the libraries' too) to standard error
as one line each: a JSON object (`HOMEWARD_LOG_FORMAT=json`, the default) or text."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from services.logs.settings import log_settings

EVENTS = logging.getLogger("homeward.events")
_NODE: dict[str, str] = {"node": "-"}


def operational(event: str, *, level: int = logging.INFO, case: str | None = None,
                **fields: object) -> None:
    """One line for one operational event; `case` the case's pseudonymous reference."""
    data = {"event": event, **({"case": case} if case is not None else {}), **fields}
    EVENTS.log(level, event, extra={"homeward": data})


def subscription_delivery_failing(subscription: str, reason: str, attempts: int,
                                  case: str | None = None) -> None:
    """A subscriber's deliveries keep failing (the monitor's alerts call it)."""
    operational("subscription delivery failing", level=logging.WARNING, case=case,
                subscription=subscription, reason=reason, attempts=attempts)


class _Node(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.node = _NODE["node"]
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "node": getattr(record, "node", _NODE["node"]),
            "logger": record.name}
        data = getattr(record, "homeward", None)
        if isinstance(data, dict):
            line.update(data)
        else:
            line["message"] = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, default=str, ensure_ascii=False)


class TextLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds")
        data = getattr(record, "homeward", None)
        if isinstance(data, dict):
            rest = " ".join(f"{k}={v}" for k, v in data.items() if k != "event")
            text = f"{data['event']}" + (f"  {rest}" if rest else "")
        else:
            text = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            text += f"  error={record.exc_info[0].__name__}"
        return f"{stamp} {record.levelname:7} {getattr(record, 'node', '-')} {text}"


def configure(node: str) -> None:
    """Every log record of the process to standard error, one line each, for `node`
    (e.g. `XA-NRM@host:8001`); the level and format from HOMEWARD_LOG_*."""
    settings = log_settings()
    _NODE["node"] = node
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Node())
    handler.setFormatter(JsonLines() if settings.format == "json" else TextLines())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    # The clients' own chatter (a retry, a request served) is not an operational event:
    # the node logs the broker lost and back itself.
    for noisy, floor in (("kafka", logging.CRITICAL), ("uvicorn.access", logging.WARNING),
                         ("httpx", logging.WARNING), ("httpcore", logging.WARNING)):
        logging.getLogger(noisy).setLevel(max(floor, root.level))
