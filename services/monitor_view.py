"""The monitor node's read side: milestones from `homeward.monitoring` in, the corridor
view out. The monitor has no case store: these documents are all it keeps, and they
hold only the checked milestone fields (see `projections.monitor`).

The consumer commits its Kafka offsets only after the documents are written, so a
crash redelivers; merging the same milestone twice changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from kafka import KafkaConsumer

from projections.board import DeadlinesFor, default_deadlines
from projections.monitor import K_ANONYMITY, NotAMilestone, corridors_view, merge, parse_milestone
from projections.projection import Doc
from services.contract.codec import decode
from services.exchange.kafka_settings import consumer_group_settings
from services.exchange.topics import MONITORING
from services.projection_store import ReadStore

log = logging.getLogger(__name__)
NAME = "monitor"
GROUP = "homeward-monitor"


class MonitorView:
    def __init__(self, store: ReadStore, deadlines_for: DeadlinesFor = default_deadlines) -> None:
        self.store = store
        self.deadlines_for = deadlines_for

    def record(self, milestones: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        """Merge (pseudonymous case id, milestone payload) pairs; returns how many were
        kept. A malformed one is left out and logged without anything it carried."""
        parsed = []
        for case, payload in milestones:
            try:
                parsed.append((_pseudonym(case), parse_milestone(payload)))
            except NotAMilestone as error:
                log.warning("a milestone was refused: %s", error)
        docs: dict[str, Doc | None] = dict(self.store.load(NAME, {c for c, _ in parsed}))
        for case, milestone in parsed:
            docs[case] = merge(docs.get(case), milestone)
        self.store.commit(NAME, {c: docs[c] for c, _ in parsed})
        return len(parsed)

    def corridors(self, now: datetime, k: int | None = None) -> list[dict[str, Any]]:
        """Per corridor at `now`. `k` (e.g. K_ANONYMITY) for statistics that leave the system."""
        return corridors_view(self.store.all(NAME), now, self.deadlines_for, k)

    def statistics(self, now: datetime) -> list[dict[str, Any]]:
        return self.corridors(now, k=K_ANONYMITY)


def _pseudonym(case: str) -> str:
    # Case keys are the pseudonymous UUIDs; anything else would be stored as a key.
    try:
        return str(UUID(case))
    except ValueError:
        raise NotAMilestone("the key is not a pseudonymous case id") from None


def milestone_of(key: bytes | None, value: bytes) -> tuple[str, Mapping[str, Any]]:
    """A Kafka record as (case, payload): the value is a milestone envelope."""
    try:
        envelope = decode(value)
    except ValueError:
        raise NotAMilestone("the value is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
        raise NotAMilestone("the value is not an envelope with a payload")
    case = key.decode("utf-8", "replace") if key else str(envelope.get("case_id", ""))
    return case, envelope["payload"]


class MilestoneConsumer:
    """Reads `homeward.monitoring` in a consumer group, with the explicit group timing."""

    def __init__(self, bootstrap: str, view: MonitorView, group_id: str = GROUP,
                 topic: str = MONITORING, **group: int) -> None:
        self.view = view
        self.consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            **consumer_group_settings(**group),
        )

    def poll_once(self, timeout_ms: int = 1000) -> int:
        batches = self.consumer.poll(timeout_ms=timeout_ms)
        pairs = []
        for records in batches.values():
            for record in records:
                try:
                    pairs.append(milestone_of(record.key, record.value))
                except NotAMilestone as error:
                    log.warning("record %s@%d refused: %s", record.topic, record.offset, error)
        kept = self.view.record(pairs) if pairs else 0
        if batches:
            self.consumer.commit()
        return kept

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the store or the broker hiccuped: the offsets were not committed
                log.exception("monitor consumer failed; retrying")
                stop.wait(1.0)

    def close(self) -> None:
        self.consumer.close()
