"""A monitor's subscriptions to alerts: which events, on which corridors, to which URL.

A subscription is kept in the monitor's read store (`alert_subscriptions`) with the
secret its deliveries are signed with; the secret is returned once, when it is made,
and never read back. `DELETE` ends a subscription: it is kept, ended, with its
deliveries, so what was sent stays visible; nothing more is sent for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlparse
from uuid import uuid4

from events.values import AGENCY_CODE
from projections.projection import Doc
from services.readside.store import ReadStore
from services.settings import in_the_clear

SUBSCRIPTIONS = "alert_subscriptions"
# The alerts a subscription may ask for.
EVENTS = ("handoff-overdue", "acknowledgement-overdue", "decision-overdue",
          "transit-incident", "protection-escalation", "retrafficking-risk")
# The monitor's clocks (projections.monitor.clocks) and the alert each raises once overdue;
# the follow-up months are the receiving agency's own calendar, not a hand-off: no alert.
CLOCK_EVENTS = {"acknowledge referral": "acknowledgement-overdue",
                "accept or decline": "decision-overdue",
                "verify identity": "handoff-overdue",
                "confirm arrival": "handoff-overdue",
                "reintegration plan": "handoff-overdue"}
MAX_URL = 2000
MAX_CORRIDORS = 100


class BadSubscription(ValueError):
    """The request does not describe a subscription; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    events: tuple[str, ...]
    corridors: tuple[str, ...]  # "REFERRING:RECEIVING"; none: every corridor
    secret: str
    created_at: str
    ended_at: str | None = None

    def wants(self, event: str, corridor: Mapping[str, str]) -> bool:
        return (self.ended_at is None and event in self.events
                and (not self.corridors or corridor_name(corridor) in self.corridors))

    def public(self) -> dict[str, Any]:
        """What is shown of it after it was made: everything but the secret."""
        return {"id": self.id, "url": self.url, "events": list(self.events),
                "corridors": list(self.corridors), "created_at": self.created_at,
                "ended_at": self.ended_at}


def corridor_name(corridor: Mapping[str, str]) -> str:
    return f"{corridor['referring']}:{corridor['receiving']}"


def checked(body: Mapping[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(url, events, corridors) of a request, or BadSubscription."""
    url = body.get("url")
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise BadSubscription("url", "an https:// address is required")
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password or parts.fragment:
        raise BadSubscription("url", "an https:// address without credentials or fragment")
    if in_the_clear(url):
        raise BadSubscription("url", "http:// is allowed only on this machine's loopback")
    events = body.get("events")
    if not isinstance(events, list) or not events or not all(
            isinstance(e, str) and e in EVENTS for e in events):
        raise BadSubscription("events", f"a non-empty list of: {', '.join(EVENTS)}")
    corridors = body.get("corridors", [])
    if not isinstance(corridors, list) or len(corridors) > MAX_CORRIDORS or not all(
            isinstance(c, str) and _is_corridor(c) for c in corridors):
        raise BadSubscription("corridors", "a list of REFERRING:RECEIVING agency codes "
                                           "(empty: every corridor)")
    extra = set(body) - {"url", "events", "corridors"}
    if extra:
        raise BadSubscription(sorted(extra)[0], "not a field of a subscription")
    return url, tuple(sorted(set(events))), tuple(sorted(set(corridors)))


def _is_corridor(value: str) -> bool:
    referring, _, receiving = value.partition(":")
    return bool(AGENCY_CODE.match(referring) and AGENCY_CODE.match(receiving))


class Subscriptions:
    def __init__(self, store: ReadStore) -> None:
        self.store = store

    def create(self, body: Mapping[str, Any], now: datetime) -> Subscription:
        url, events, corridors = checked(body)
        made = Subscription(str(uuid4()), url, events, corridors, secrets.token_hex(32),
                            now.isoformat())
        self.store.commit(SUBSCRIPTIONS, {made.id: _doc(made)})
        return made

    def get(self, sid: str) -> Subscription | None:
        doc = self.store.load(SUBSCRIPTIONS, [sid]).get(sid)
        return _subscription(doc) if doc is not None else None

    def all(self) -> list[Subscription]:
        return sorted((_subscription(d) for d in self.store.all(SUBSCRIPTIONS).values()),
                      key=lambda s: (s.created_at, s.id))

    def active(self) -> list[Subscription]:
        return [s for s in self.all() if s.ended_at is None]

    def end(self, sid: str, now: datetime) -> Subscription | None:
        found = self.get(sid)
        if found is None or found.ended_at is not None:
            return found
        ended = replace(found, ended_at=now.isoformat())
        self.store.commit(SUBSCRIPTIONS, {sid: _doc(ended)})
        return ended


def _doc(s: Subscription) -> Doc:
    return {"id": s.id, "url": s.url, "events": list(s.events), "corridors": list(s.corridors),
            "secret": s.secret, "created_at": s.created_at, "ended_at": s.ended_at}


def _subscription(doc: Doc) -> Subscription:
    return Subscription(doc["id"], doc["url"], tuple(doc["events"]), tuple(doc["corridors"]),
                        doc["secret"], doc["created_at"], doc.get("ended_at"))
