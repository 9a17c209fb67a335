"""The relay: publishes the agency's own shared events from the notification log (the
outbox) to the partner's inbox topic, and their milestones to the monitoring topic.

What each event makes to send (sequences, the chain of digests, the wait for the referral,
the signed checkpoint, the milestones) is `outgoing`'s; the relay reads the log, sends,
sends again until receipted, and keeps its position.

It reads from its own tracked position and records a new position, in the node's own
database, only after the broker acknowledged every message up to it. A crash or a
broker outage therefore never loses a message; it may send one twice, with the same
message id and sequence, which the partner's inbox recognises. While it runs, it keeps
the position it reached in memory and records it RECORD_EVERY seconds after it first ran
ahead of the recorded one, and as it stops: not a commit per batch (half of which, the
partner's facts recorded here, send nothing), each in the way of the next batch and of
the store's other writers. A crash sends at most that second's messages again, and so
does a failure to send: the relay goes back to its recorded position, since what the
broker acknowledged in that second may be gone with it (a broker restarted without its
log), milestones included, which no receipt would bring back.

Every message carries the node's signed checkpoint of its stream of the case at the event
it carries, kept in the node's own tables as well (`Anchors`) before it leaves.

Every message leaves sealed to its recipient's key (`sealing`), under the case's keyed
reference (`pseudonyms`), which is also its Kafka key. A partner the trust directory lists
no sealing key for gets nothing until it does (the relay retries, in order); milestones,
when the directory lists no monitor, are not sent at all.

Every message to a partner is recorded in the node's deliveries (`deliveries`) before it
first leaves, and sent again, with backoff, the same message under the same id, until the
partner's signed receipt arrives (the inbox records it): a broker that lost messages, a
recreated topic or a partner restored from a backup converge without an operator.

Like the projection runner, it never passes a missing notification id that a
transaction in flight may still fill (`contiguous`). An event that cannot be turned
into a message (its payload no longer fits the contract, say) does not stop the relay:
it is dead-lettered here, on the sender's side (`DeadLetters`), with the later events
of its case, since the partner could not apply them without it; the node reports the
count (metric and /readyz) for an operator to act on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, Tracking

from events.case import CaseEvent
from services.anchors.checkpoint import Checkpoint
from services.anchors.store import Anchors
from services.application import Homeward
from services.contract.codec import MONITOR, encode
from services.exchange.clients import MakeProducer
from services.exchange.directory import Directory
from services.exchange.outgoing import Messages, Outgoing, Unencodable
from services.exchange.producing import LazyProducer
from services.exchange.pseudonyms import NoSealingKey, Pseudonyms
from services.exchange.sealing import seal
from services.notification_log import GapBarrier, NoLateCommits, contiguous
from services.signing import SigningKey
from services.tables.deliveries import Deliveries, backoff

TRACKING_NAME = "homeward-relay"
RECORD_EVERY = 1.0  # seconds a position reached may wait to be recorded while the relay runs
log = logging.getLogger(__name__)


class DeadLetters:
    """Events the relay could not send, kept on the sender's side: one JSON line each
    (notification id, case, event type and version, reason; no payload) in the data dir,
    or in memory without a path. An event is kept once, however often it is met."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._ids: set[int] = set()
        if path is not None and path.exists():
            self._ids = {json.loads(line)["notification_id"]
                         for line in path.read_text().splitlines() if line.strip()}

    def add(self, entry: dict[str, Any]) -> None:
        if entry["notification_id"] in self._ids:
            return
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as file:
                file.write(json.dumps(entry, sort_keys=True) + "\n")
        self._ids.add(entry["notification_id"])

    def count(self) -> int:
        return len(self._ids)


@dataclass(frozen=True)
class Resending:
    """When a message without a receipt leaves again: `first` after it was sent, then
    doubling, at most `longest` apart; the relay looks for such messages every `every`."""

    first: timedelta = timedelta(seconds=10)
    longest: timedelta = timedelta(minutes=5)
    every: float = 1.0


class Relay:
    def __init__(
        self, app: Homeward, key: SigningKey, producer: MakeProducer,
        directory: Callable[[], Directory],
        batch_size: int = 200, ack_timeout: float = 10.0, cache_size: int = 10_000,
        dead_letters: DeadLetters | None = None, barrier: GapBarrier | None = None,
        anchors: Anchors | None = None,
        deliveries: Deliveries | None = None, resending: Resending | None = None,
    ) -> None:
        self.app, self.key, self.agency, self.directory = app, key, key.agency, directory
        self.pseudonyms = Pseudonyms(key.sealing, directory)
        self.producer = LazyProducer(producer, "relay")
        self.batch_size, self.ack_timeout = batch_size, ack_timeout
        self.tracking = app.factory.tracking_recorder()
        self.outgoing = Messages(key, self.pseudonyms, self._stream, cache_size)
        self.dead_letters = dead_letters or DeadLetters()
        # The store's own barrier (services/bootstrap.py); SQLite never fills a gap late.
        self.barrier = barrier or NoLateCommits()
        self.anchors = anchors  # where the node keeps the checkpoints it signs
        # Without deliveries (some tests), nothing is re-sent and no receipt is awaited.
        self.deliveries, self.resending = deliveries, resending or Resending()
        self.resent = 0
        self._looked = 0.0  # monotonic time of the last look for messages due again
        self._reached: int | None = None  # the position relayed to, if known here
        self._ahead_since: float | None = None  # since when it is ahead of the recorded one

    # -- where it is ---------------------------------------------------------

    def position(self) -> int:
        """Where the relay stands: every notification up to it was relayed (the broker
        acknowledged its messages)."""
        if self._reached is None:
            self._reached = self.tracking.max_tracking_id(TRACKING_NAME) or 0
        return self._reached

    def record_position(self) -> None:
        """The position reached, recorded in the store if it is not yet."""
        if self._ahead_since is not None and self._reached is not None:
            self.tracking.insert_tracking(Tracking(TRACKING_NAME, self._reached))
            self._ahead_since = None

    def lag(self) -> int:
        """Notifications not yet relayed (for readiness and metrics)."""
        return max((self.app.recorder.max_notification_id() or 0) - self.position(), 0)

    # -- what it sends -------------------------------------------------------

    def messages(self, notifications: list[Notification]) -> list[Outgoing]:
        out: list[Outgoing] = []
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            if isinstance(event, CaseEvent):
                try:
                    out += self.outgoing.after(event)
                except Unencodable as poison:
                    self._dead_letter(notification.id, event, str(poison))
        return out

    def _stream(self, case_id: UUID, last: int | None) -> Iterable[object]:
        return self.app.repository.event_store.get(case_id, lte=last)

    def _dead_letter(self, notification_id: int, event: CaseEvent, reason: str) -> None:
        log.error("relay: notification %d (%s v%d of case %s) cannot be sent: %s",
                  notification_id, event.type, event.originator_version,
                  event.originator_id, reason)
        self.dead_letters.add({
            "notification_id": notification_id, "case_id": str(event.originator_id),
            "type": event.type, "version": event.originator_version, "reason": reason})

    # -- sending -------------------------------------------------------------

    def relay_once(self, settle: bool = True) -> int:
        """Relays the next batch; returns how many notifications it passed. The position
        reached is recorded RECORD_EVERY seconds after it ran ahead of the recorded one,
        and, with `settle` (not in the loop of `run`, which records as it stops), once
        nothing more waits."""
        position = self.position()
        found = self.app.recorder.select_notifications(position + 1, self.batch_size)
        notifications = contiguous(TRACKING_NAME, position, found, self.barrier)
        if not notifications:
            if settle:
                self.record_position()
            else:
                self._record_when_due()
            return 0
        try:
            self.publish(self.messages(notifications))
        except BaseException:
            self.outgoing.forget()  # its cases ran ahead of the recorded position
            raise
        self._reached = notifications[-1].id
        if self._ahead_since is None:
            self._ahead_since = time.monotonic()
        self._record_when_due()
        return len(notifications)

    def _record_when_due(self) -> None:
        if self._ahead_since is not None and \
                time.monotonic() - self._ahead_since >= RECORD_EVERY:
            self.record_position()

    def publish(self, messages: list[Outgoing]) -> None:
        if self.deliveries is not None:  # a partner that receipted a message has it: a
            # relay behind its position (a crash before it moved on, seeded demo cases)
            # sends it no more
            done = self.deliveries.receipted_among(m.sent.message_id for m in messages
                                                   if m.to_partner)
            messages = [m for m in messages if not (m.to_partner and m.sent.message_id in done)]
        if not messages:
            return
        producer, directory = self.producer.get(), self.directory()
        if self.anchors is not None:  # kept here too, before it leaves: a chain cut short
            # or rewritten later no longer matches what this node signed
            self.anchors.keep_all([Checkpoint.of(m.envelope["checkpoint"]) for m in messages
                                   if "checkpoint" in m.envelope])
        if self.deliveries is not None:
            now = self.app.clock.now()
            self.deliveries.sending([m.sent for m in messages if m.to_partner], now,
                                    now + self.resending.first)
        sent = []
        for m in messages:
            value = self.sealed(m, directory)
            if value is None:
                continue
            sent.append(producer.send(m.topic, key=m.key, value=value, headers=m.headers))
        producer.flush(timeout=self.ack_timeout)
        for future in sent:
            future.get(timeout=self.ack_timeout)  # raises unless the broker acknowledged

    def sealed(self, m: Outgoing, directory: Directory) -> bytes | None:
        """The message as it goes on the wire, sealed to its recipient; None for a
        milestone while no monitor is listed."""
        sealing = directory.sealing(m.envelope["recipient"])
        if sealing is None and m.envelope["recipient"] == MONITOR:
            return None  # no monitor listed: no milestone leaves
        if sealing is None:
            raise NoSealingKey(m.envelope["recipient"])  # nothing leaves in clear
        return encode(seal(m.envelope, m.case_ref, sealing, self.key))

    # -- sending again until receipted ------------------------------------------

    def resend_due(self) -> int:
        """Sends again every message whose receipt is overdue, as it was first made (same
        id, sequence and digest, sealed afresh); returns how many left."""
        if self.deliveries is None:
            return 0
        now = self.app.clock.now()
        due = {d.message_id: d for d in self.deliveries.due(now, self.batch_size)}
        if not due:
            return 0
        again: list[Outgoing] = []
        for case_id in dict.fromkeys(d.case_id for d in due.values()):
            again += [m for m in self.outgoing.of_case(case_id) if m.envelope["message_id"] in due]
        self.publish(again)
        for m in again:
            attempts = due[m.envelope["message_id"]].attempts + 1
            self.deliveries.resent(m.envelope["message_id"],
                                   now + backoff(attempts, self.resending.first,
                                                 self.resending.longest))
        for message_id in due.keys() - {m.envelope["message_id"] for m in again}:
            # Not made again (its case is gone, or erased past sending): not awaited for ever.
            self.deliveries.resent(message_id, now + self.resending.longest)
        self.resent += len(again)
        if again:
            log.info("relay: sent %d message(s) again, still without a receipt", len(again))
        return len(again)

    # -- running ------------------------------------------------------------------

    def step(self) -> int:
        """One turn of the loop: the next batch of the log, then, now and then, the
        messages due again. Returns how much it did."""
        passed = self.relay_once(settle=False)
        if self.deliveries is not None and time.monotonic() - self._looked >= self.resending.every:
            self._looked = time.monotonic()
            passed += self.resend_due()
        return passed

    def run(self, stop: threading.Event, idle: float = 0.05, backoff: float = 0.5) -> None:
        """Relays until `stop` is set; an unreachable broker is retried, never skipped.
        A commit of this process's application wakes it at once; `idle` is how often it
        looks at the store for what another process (a replica) committed."""
        failures = 0
        self._reached = self._ahead_since = None  # another replica may have relayed meanwhile
        try:
            self.producer.get()  # connect before any step
        except Exception as error:
            log.warning("relay: broker not reachable yet: %r", error)
        while not stop.is_set():
            seen = self.app.commits.count  # before reading: a commit meanwhile wakes it
            try:
                passed = self.step()
                failures = 0
            except Exception as error:
                failures += 1
                # Never skipped: what cannot be sent now is retried, in order, from the
                # recorded position.
                self._rewind()
                log.warning("relay: not relayed, retrying from %s: %r", self.position(), error)
                # A producer that lost its broker may hold stale idempotence state.
                self.producer.reset()
                stop.wait(min(backoff * failures, 2.0))
                continue
            if not passed:
                self.app.commits.wait(seen, idle)
        self.close()

    def _rewind(self) -> None:
        """Back to the recorded position, as after a restart: what was sent since is sent
        again, under the same ids (the partner recognises its messages, the monitor its
        milestones)."""
        self._reached = self._ahead_since = None
        self.outgoing.forget()

    def close(self) -> None:
        try:
            self.record_position()
        except Exception as error:  # read again after a restart: sent again, recognised
            log.warning("relay: position not recorded on closing: %r", error)
        self.producer.reset()
