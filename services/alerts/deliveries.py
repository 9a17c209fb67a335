"""Deliveries of alerts: each a signed POST of JSON to the subscriber's URL, retried until
it answers 2xx, every attempt kept for the subscriber to see.

An alert is delivered once per subscription: its delivery's id is derived from the
subscription and what the alert is about (the case's monitoring pseudonym, the event,
the clock and its due time or the escalation's time), so finding it again (the next
scan, a milestone redelivered) adds nothing. Deliveries are kept in the monitor's read
store (`alert_deliveries`) before they are tried, so a restart goes on with them.

A refused or failed attempt is tried again after RETRY_FIRST, then after twice as long
each time, for up to GIVE_UP after the alert was found; then the delivery is given up.
Each delivery has a row in the store's index table (`INDEXED["alert_deliveries"]`): the
ones due are found there, never by reading the delivered ones, and so are a
subscription's and those finished (delivered or given up) before a time, which the
monitor may forget once their alert can never be found again (`Alerts.prune`).

The body says only the event, the corridor, the pseudonym, when, and the clock or the
incident's kind: nothing personal. The signature header is
`Homeward-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from projections.board import instant
from projections.projection import Doc
from services.alerts.subscriptions import Subscription, Subscriptions
from services.readside.store import Query, ReadStore, Where

log = logging.getLogger(__name__)
DELIVERIES = "alert_deliveries"
SIGNATURE = "Homeward-Signature"
RETRY_FIRST = timedelta(seconds=5)
GIVE_UP = timedelta(hours=24)
TIMEOUT = 10.0  # seconds a subscriber has to answer one attempt
# The index's version, kept as the deliveries' position in the store: a store without
# the index, or with an older one, has it made from its deliveries, in one transaction.
INDEXED_AT = 1


@dataclass(frozen=True)
class Alert:
    """Something a subscriber may be told of: `detail` is the clock or the incident kind."""

    event: str
    corridor: Mapping[str, str]
    case: str  # the case's monitoring pseudonym
    at: str  # the clock's due time, or when the escalation was recorded
    clock: str | None = None
    incident: str | None = None

    def body(self, delivery: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": delivery, "event": self.event,
                               "corridor": dict(self.corridor), "case": self.case,
                               "at": self.at}
        if self.clock is not None:
            out["clock"] = self.clock
        if self.incident:
            out["incident"] = self.incident
        return out


def signature(secret: str, t: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


Post = Callable[[str, bytes, Mapping[str, str]], int]  # url, body, headers -> HTTP status


def post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """One attempt; a redirect is an answer like any other, never followed."""
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery's indexed columns; times as `projections.board.instant` keeps them."""

    waiting: bool  # neither delivered nor given up
    next_at: str
    subscription: str
    created_at: str
    finished_at: str  # when it was delivered or given up; "" while waiting


def delivery_row(doc: Doc) -> DeliveryRow:
    finished = doc["delivered_at"] or doc["gave_up_at"]
    return DeliveryRow(finished is None, instant(doc["next_at"]), doc["subscription"],
                       instant(doc["created_at"]), instant(finished) if finished else "")


class Deliveries:
    def __init__(self, store: ReadStore, subscriptions: Subscriptions,
                 now: Callable[[], datetime], send: Post = post) -> None:
        self.store, self.subscriptions, self.now, self.send = store, subscriptions, now, send
        self._lock = threading.Lock()
        if store.position(DELIVERIES) != INDEXED_AT or not store.indexed(DELIVERIES):
            kept = store.all(DELIVERIES)
            store.commit(DELIVERIES, {}, position=INDEXED_AT,
                         index={k: delivery_row(d) for k, d in kept.items()})

    def raise_alerts(self, alerts: Iterable[Alert]) -> int:
        """A delivery, to each subscription that wants it, of each alert not yet delivered
        to it; returns how many were added."""
        active = self.subscriptions.active()
        wanted = [(s, a) for a in alerts for s in active if s.wants(a.event, a.corridor)]
        if not wanted:
            return 0
        with self._lock:
            ids = {delivery_id(s, a): (s, a) for s, a in wanted}
            known = self.store.load(DELIVERIES, ids)
            now = self.now().isoformat()
            new: dict[str, Doc | None] = {
                i: {"id": i, "subscription": s.id, "body": a.body(i), "created_at": now,
                    "next_at": now, "delivered_at": None, "gave_up_at": None, "attempts": []}
                for i, (s, a) in ids.items() if i not in known}
            if new:
                self.store.commit(DELIVERIES, new, index={
                    i: delivery_row(d) for i, d in new.items() if d is not None})
            return len(new)

    def of(self, subscription: str) -> list[Doc]:
        return self._found(Query(where=(Where("subscription", "=", subscription),),
                                 order=(("created_at", False), ("key", False)), limit=None))

    def due(self) -> list[Doc]:
        """The deliveries waiting whose next attempt is due, earliest first."""
        return self._found(Query(where=(Where("waiting", "=", True),
                                        Where("next_at", "<=", instant(self.now()))),
                                 order=(("next_at", False), ("key", False)), limit=None))

    def finished_before(self, at: datetime, limit: int = 1000, offset: int = 0) -> list[Doc]:
        """A page of the deliveries delivered or given up before `at`, the earliest first."""
        return self._found(Query(where=(Where("waiting", "=", False),
                                        Where("finished_at", "<", instant(at))),
                                 order=(("finished_at", False), ("key", False)), limit=limit,
                                 offset=offset))

    def forget(self, ids: Iterable[str]) -> None:
        gone = set(ids)
        if gone:
            with self._lock:
                self.store.commit(DELIVERIES, dict.fromkeys(gone),
                                  index=dict.fromkeys(gone))

    def _found(self, query: Query) -> list[Doc]:
        keys = [row[0] for row in self.store.page(DELIVERIES, query)[0]]
        docs = self.store.load(DELIVERIES, keys)
        return [docs[k] for k in keys if k in docs]

    def attempt_due(self) -> int:
        """Tries every delivery that is due once; returns how many were tried."""
        subscriptions = {s.id: s for s in self.subscriptions.all()}
        tried = 0
        for delivery in self.due():
            subscription = subscriptions.get(delivery["subscription"])
            if subscription is None or subscription.ended_at is not None:
                continue  # ended: nothing more is sent for it
            self._attempt(subscription, delivery)
            tried += 1
        return tried

    def _attempt(self, subscription: Subscription, delivery: Doc) -> None:
        body = json.dumps(delivery["body"], sort_keys=True, separators=(",", ":")).encode()
        started = self.now()
        headers = {"Content-Type": "application/json", "User-Agent": "homeward-monitor",
                   SIGNATURE: signature(subscription.secret, int(started.timestamp()), body)}
        status: int | None = None
        error: str | None = None
        try:
            status = self.send(subscription.url, body, headers)
        except Exception as failed:  # the subscriber is down, slow or unreachable
            error = type(failed).__name__
        attempts = [*delivery["attempts"], {"at": started.isoformat(), "status": status,
                                            "error": error}]
        updated = {**delivery, "attempts": attempts}
        if status is not None and 200 <= status < 300:
            updated["delivered_at"] = started.isoformat()
        else:
            wait = RETRY_FIRST * 2 ** (len(attempts) - 1)
            if started + wait > datetime.fromisoformat(delivery["created_at"]) + GIVE_UP:
                updated["gave_up_at"] = started.isoformat()
            else:
                updated["next_at"] = (started + wait).isoformat()
            log.warning("alert delivery %s refused (%s); attempt %d", delivery["id"],
                        status if status is not None else error, len(attempts))
        with self._lock:
            self.store.commit(DELIVERIES, {delivery["id"]: updated},
                              index={delivery["id"]: delivery_row(updated)})


def delivery_id(subscription: Subscription, alert: Alert) -> str:
    about = "/".join((subscription.id, alert.case, alert.event, alert.clock or "", alert.at,
                      alert.incident or ""))
    return str(uuid5(NAMESPACE_URL, "homeward:alert:" + about))
