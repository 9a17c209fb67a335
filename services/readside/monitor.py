"""The monitor node's read side: milestones from `homeward.monitoring` in, the corridor
view out. The monitor has no case store: these documents are all it keeps, and they
hold only the checked milestone fields (see `projections.monitor`).

Milestones arrive sealed to the monitor's own key. Only those an agency of the trust
directory signed, for a corridor the directory lists and the agency is on, are merged
(`MilestoneGate`): a forged milestone would
skew the statistics published from here. With no agency in the directory the monitor
trusts nobody and sees nothing, rather than accepting anything unsigned.

The consumer commits its Kafka offsets only after the documents are written, so a
crash redelivers; merging the same milestone twice changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from kafka import TopicPartition

from projections.board import DeadlinesFor, default_deadlines
from projections.monitor import (
    K_ANONYMITY,
    NotAMilestone,
    OtherCorridor,
    corridors_view,
    merge,
    parse_milestone,
)
from projections.monitor_alerts import new_escalations
from projections.monitor_series import corridor_series
from projections.monitor_trends import trends
from projections.projection import Doc
from services.contract.codec import MILESTONE, MONITOR
from services.exchange.admission import Rejected, authentic
from services.exchange.clients import MakeConsumer
from services.exchange.directory import Directory, DirectoryFile, DirectoryUnreadable
from services.exchange.partitions import Partitions
from services.exchange.records import MAX_RECORD_BYTES, size
from services.exchange.sealing_keys import Unsealing
from services.exchange.topics import MONITORING
from services.readside.store import ReadStore

log = logging.getLogger(__name__)
NAME = "monitor"
GROUP = "homeward-monitor"


Escalated = Callable[[list[tuple[str, dict[str, str], tuple[str, str, str]]]], object]
Written = Callable[[list[str]], object]


class MonitorView:
    def __init__(self, store: ReadStore, deadlines_for: DeadlinesFor = default_deadlines,
                 escalated: Escalated | None = None, written: Written | None = None) -> None:
        self.store = store
        self.deadlines_for = deadlines_for
        self.refused: Counter[str] = Counter()  # milestones the view itself left out
        # Told of each escalation a batch newly reports, before the batch is written.
        self.escalated = escalated
        # Told of the cases whose documents a batch wrote, after they were written.
        self.written = written

    def record(self, milestones: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        """Merge (pseudonymous case id, milestone payload) pairs; returns how many were
        kept. A malformed one, or one for another corridor than its case's, is left out,
        counted and logged without anything it carried."""
        parsed = []
        for case, payload in milestones:
            try:
                parsed.append((_pseudonym(case), parse_milestone(payload)))
            except NotAMilestone as error:
                self.refused["malformed"] += 1
                log.warning("a milestone was refused: %s", error)
        docs: dict[str, Doc | None] = dict(self.store.load(NAME, {c for c, _ in parsed}))
        before = dict(docs)
        merged: list[str] = []
        for case, milestone in parsed:
            try:
                docs[case] = merge(docs.get(case), milestone)
            except OtherCorridor as error:
                self.refused["other-corridor"] += 1
                log.warning("a milestone was refused: %s", error)
                continue
            merged.append(case)
        changed = {c: docs[c] for c in set(merged)}
        if self.escalated is not None:
            found = [(c, dict(doc["corridor"]), e) for c, doc in sorted(changed.items())
                     if doc is not None for e in new_escalations(before.get(c), doc)]
            if found:
                self.escalated(found)
        self.store.commit(NAME, changed)
        if self.written is not None and changed:
            self.written(sorted(changed))
        return len(merged)

    def corridors(self, now: datetime, k: int | None = None) -> list[dict[str, Any]]:
        """Per corridor at `now`. `k` (e.g. K_ANONYMITY) for statistics that leave the system."""
        return corridors_view(self.store.all(NAME), now, self.deadlines_for, k)

    def statistics(self, now: datetime) -> list[dict[str, Any]]:
        return self.corridors(now, k=K_ANONYMITY)

    def trends(self, now: datetime, first: str, last: str, corridor: tuple[str, str] | None,
               breakdown: str | None) -> list[dict[str, Any]]:
        """Per corridor and month from `first` to `last`: what happened, k-suppressed."""
        return trends(self.store.all(NAME), now, first, last, K_ANONYMITY, corridor, breakdown,
                      self.deadlines_for)

    def series(self, now: datetime) -> list[dict[str, Any]]:
        """Per corridor and month, suppressed like the statistics: what the charts draw."""
        return corridor_series(self.store.all(NAME), now, K_ANONYMITY)


def _pseudonym(case: str) -> str:
    # Case keys are the pseudonymous UUIDs; anything else would be stored as a key.
    try:
        return str(UUID(case))
    except ValueError:
        raise NotAMilestone("the key is not a pseudonymous case id") from None


class MilestoneGate:
    """Lets through only milestones signed with the key the trust directory lists for
    their sender, naming a corridor the directory lists and the sender is on. Refusals
    are counted per reason in `refused`."""

    def __init__(self, directory: Callable[[], Directory], key: Unsealing) -> None:
        self.directory, self.key = directory, key
        self.refused: Counter[str] = Counter()

    @classmethod
    def of_file(cls, path: Path, key: Unsealing) -> MilestoneGate:
        """Trusts the directory file as it stands at each milestone; says once, now, if it
        trusts nobody yet (the file is absent or lists no agency)."""
        gate = cls(DirectoryFile(path).current, key)
        if not gate.directory().agencies:
            log.warning("the trust directory %s lists no agency: every milestone is refused "
                        "until it does", path)
        return gate

    def admit(self, records: Iterable[tuple[str, bytes | None]]
              ) -> list[tuple[str, dict[str, Any]]]:
        """The trusted milestones of (where, value) records; each refusal is logged with
        where the record was and the reason's code only (its detail may quote the message).
        Nothing a record holds stops the others: an error of its own is a refusal too."""
        passed = []
        for where, value in records:
            try:
                passed.append(self.check(value))
            except Rejected as refusal:
                log.warning("milestone %s refused: %s", where, refusal.code)
        return passed

    def within_bound(self, record: Any) -> bool:
        """Whether the record as a whole is within MAX_RECORD_BYTES, measured before
        anything of it is read; one beyond is refused (too-large) unread."""
        if size(record) <= MAX_RECORD_BYTES:
            return True
        self.refused["too-large"] += 1
        log.warning("milestone %s@%s refused: too-large", getattr(record, "topic", "?"),
                    getattr(record, "offset", "?"))
        return False

    def check(self, value: bytes | None) -> tuple[str, dict[str, Any]]:
        """The (pseudonymous case id, payload) of a trusted milestone, or Rejected. The
        case id is the signed one, never the unsigned Kafka key."""
        try:
            return self._verify(value)
        except Rejected as refusal:
            self.refused[refusal.code] += 1
            raise
        except DirectoryUnreadable:
            raise  # the directory file is being rewritten: the batch is read again
        except Exception as error:  # its type only: the text may quote the message
            self.refused["error"] += 1
            raise Rejected("error", type(error).__name__) from None

    def _verify(self, value: bytes | None) -> tuple[str, dict[str, Any]]:
        directory = self.directory()
        signed = authentic(value, directory, self.key)
        if signed.kind != MILESTONE or signed.envelope["recipient"] != MONITOR:
            raise Rejected("not-a-milestone")
        corridor = signed.payload["corridor"]
        referring, receiving = corridor["referring"], corridor["receiving"]
        if signed.received.sender not in (referring, receiving):
            raise Rejected("not-on-corridor")
        if directory.corridor(referring, receiving) is None:
            raise Rejected("no-corridor")
        return str(signed.case_id), signed.payload


class MilestoneConsumer:
    """Reads `homeward.monitoring` in a consumer group, with the explicit group timing. Its
    partitions are watched as the inbox's are (`Partitions`): a broker that lost its log
    leaves the consumer past the end of the new one, and it then rejoins and reads on."""

    def __init__(self, consumer: MakeConsumer, view: MonitorView, gate: MilestoneGate,
                 topic: str = MONITORING) -> None:
        """`consumer` makes a consumer of `topic` in the monitor's group (`GROUP`)."""
        self.view, self.gate = view, gate
        self.partitions = Partitions(consumer, topic)

    def poll_once(self, timeout_ms: int = 1000) -> int:
        batches = self.partitions.poll(timeout_ms)
        try:
            pairs = self.gate.admit((f"{record.topic}@{record.offset}", record.value)
                                    for records in batches.values() for record in records
                                    if self.gate.within_bound(record))
            kept = self.view.record(pairs) if pairs else 0
        except BaseException:
            self.rewind(batches)
            raise
        if batches and self.partitions.consumer is not None:
            self.partitions.consumer.commit()
        return kept

    def rewind(self, batches: Mapping[TopicPartition, list[Any]]) -> None:
        """After a failed batch, back to the committed offsets (or the batch's first), so
        the next poll reads the batch again instead of going on past it."""
        consumer = self.partitions.consumer
        if consumer is None:
            return
        for partition, records in batches.items():
            committed = consumer.committed(partition)
            consumer.seek(partition, committed if committed is not None
                          else records[0].offset)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the store or the broker hiccuped: the offsets were not committed
                log.exception("monitor consumer failed; retrying")
                stop.wait(1.0)

    def close(self) -> None:
        self.partitions.close()  # a join in flight finished first: its successor is not locked out
