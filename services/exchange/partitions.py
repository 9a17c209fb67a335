"""The inbox's side of the consumer group: its partitions polled, paused at the held bound
and resumed, rewound to the first record not handled, committed (never waited for), watched
for progress (`progress.Progress`), and left to join afresh when the broker lost the log or
the topic got new partitions."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from services.exchange.clients import Consumer, MakeConsumer
from services.exchange.progress import STALL_SECONDS, Progress

log = logging.getLogger(__name__)
POSITION_CHECK_SECONDS = 5.0
# How long a member that is joining its group is given to finish the join before it leaves.
JOIN_GRACE_SECONDS = 8.0
PAUSE_SECONDS = 5.0  # how long a partition stays paused once its held messages hit the bound
# How often offsets are committed at most: each is a request of its own to the group's
# coordinator, which cost about as much of the node as the record it followed. Those
# reached meanwhile wait, and leave together, the latest of each partition, at the first
# commit or poll once it is due; a member closing commits them first.
COMMIT_EVERY = 0.5


class Partitions:
    def __init__(self, consumer: MakeConsumer, topic: str,
                 stall_seconds: float = STALL_SECONDS) -> None:
        self._new_consumer, self.topic = consumer, topic
        self.consumer: Consumer | None = None
        self.assigned = False  # the group gave this member its partitions (readiness)
        self.paused: dict[TopicPartition, float] = {}  # since when (monotonic)
        self.rejoins = 0  # times this member left its group to join it afresh
        self.progress: Progress[TopicPartition] = Progress(time.monotonic, stall_seconds)
        self._checked = time.monotonic()
        # Partitions the last check found past their end: the position and the end.
        self._past_end: dict[TopicPartition, tuple[int, int]] = {}
        self._committing: dict[TopicPartition, int] = {}  # offsets sent, not yet confirmed
        self._reached: dict[TopicPartition, int] = {}  # offsets to commit, not sent yet
        self.commit_every = COMMIT_EVERY
        self._last_commit = float("-inf")  # monotonic time the last commit was sent

    def _now(self) -> Consumer:
        if self.consumer is None:
            self.consumer = self._new_consumer()
        return self.consumer

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        consumer = self._now()
        self.commit_due()
        batches: dict[TopicPartition, list[Any]] = consumer.poll(timeout_ms=timeout_ms)
        self.assigned = bool(consumer.assignment())
        if not batches and time.monotonic() - self._checked > POSITION_CHECK_SECONDS:
            self.check_positions()
        return batches

    # -- pauses ----------------------------------------------------------------

    def pause(self, partition: TopicPartition, offset: int) -> None:
        consumer = self._now()
        consumer.seek(partition, offset)
        consumer.pause(partition)
        self.paused[partition] = time.monotonic()

    def resume_due(self) -> list[TopicPartition]:
        """The partitions whose pause is over, resumed."""
        resumed = []
        for partition, since in list(self.paused.items()):
            if time.monotonic() - since < PAUSE_SECONDS or self.consumer is None:
                continue
            del self.paused[partition]
            self.consumer.resume(partition)
            resumed.append(partition)
        return resumed

    # -- positions -------------------------------------------------------------

    def rewind(self, unfinished: Mapping[TopicPartition, list[Any]],
               failed: TopicPartition, offset: int) -> None:
        """Back to `offset` on the failed partition, to the batch's first record on the
        others not finished: the next poll reads them again."""
        consumer = self._now()
        for partition, records in unfinished.items():
            consumer.seek(partition, offset if partition == failed else records[0].offset)

    def observe_progress(self) -> None:
        """Where each partition stands once its batch is handled (or rewound to its first
        message not handled), beside the end its last fetch reported."""
        if self.consumer is None:
            self.progress.forget()
            return
        assigned = self.consumer.assignment()
        self.progress.forget(assigned)
        for partition in assigned:
            end = self.consumer.highwater(partition)
            if end is not None:  # fetched: its position is known here
                self.progress.observe(partition, self.consumer.position(partition, 200), end)

    def stalled(self) -> str | None:
        """A partition that stands still while records wait on it (not one paused by the
        bound: that is said apart), or None."""
        stalled = self.progress.stalled(self.paused)
        if not stalled:
            return None
        return "; ".join(f"{p.topic}[{p.partition}] has stood at offset {position} for "
                         f"{seconds:.0f} s with records after it"
                         for p, (position, seconds) in sorted(stalled.items()))

    def check_positions(self) -> None:
        """A broker that lost its log (restarted without storage; an unclean leader
        election) can leave this member waiting for ever past the end of a partition.
        Then it rejoins afresh and reads from the committed offsets (or the start): facts
        already recorded are recognised, so re-reading is harmless. A topic given more
        partitions needs nothing of this: the group's leader sees the change in the
        metadata and the group rebalances in place (leaving the group while that join is
        in flight locks its successor out on the local broker).

        The end of a partition is the high watermark of the latest fetch response, which
        every broker reports with each fetch; ListOffsets is asked only before a fetch
        answered (the local broker answers it with the end of the partition's first batch,
        not of its log). A partition is taken to be past its end only when two checks in
        a row, with nothing read between them, find it so."""
        self._checked = time.monotonic()
        consumer = self._now()
        assigned = list(consumer.assignment())
        if not assigned:
            return
        unknown = [p for p in assigned if consumer.highwater(p) is None]
        listed = consumer.end_offsets(unknown) if unknown else {}
        past: dict[TopicPartition, tuple[int, int]] = {}  # the position and the end
        for partition in assigned:
            end = consumer.highwater(partition)
            end = listed.get(partition) if end is None else end
            position = consumer.position(partition)
            if end is not None and position > end:
                past[partition] = (position, end)
        suspected, self._past_end = self._past_end, past
        for partition, (position, end) in past.items():
            if partition in suspected and suspected[partition][0] == position:
                return self.rejoin(f"{partition} is past the end of its log "
                                   f"({position} > {end})")

    def rejoin(self, why: str) -> None:
        log.warning("%s: %s: rejoining the group", self.topic, why)
        self.rejoins += 1
        consumer, self.consumer = self.consumer, None
        self._past_end, self._committing, self._reached = {}, {}, {}
        self.paused.clear()  # a new member starts unpaused
        if consumer is not None:
            leave(consumer)

    # -- commits ---------------------------------------------------------------

    def commit(self, partition: TopicPartition, offset: int) -> None:
        """Not waited for: every fact up to the offset is recorded already, so a commit
        that is lost, or not sent yet when a member crashes, only makes a member read them
        again, and they are recognised. Sent now if one is due (`COMMIT_EVERY`), else with
        the next one due."""
        self._reached[partition] = offset
        self.commit_due()

    def commit_due(self) -> None:
        """The offsets reached, sent together if the last commit is `commit_every` old."""
        if not self._reached or time.monotonic() - self._last_commit < self.commit_every:
            return
        offsets, self._reached = self._reached, {}
        self._last_commit = time.monotonic()
        self._committing.update(offsets)
        self._now().commit_async({p: OffsetAndMetadata(o, "", -1) for p, o in offsets.items()},
                                 callback=self._committed)

    def _committed(self, offsets: dict[TopicPartition, OffsetAndMetadata],
                   response: object) -> None:
        if isinstance(response, Exception):
            log.info("inbox: an offset commit failed (%r); the next one covers it", response)
            return
        for partition, done in offsets.items():
            if self._committing.get(partition) == done.offset:
                self._committing.pop(partition, None)

    def close(self, commit: bool = False) -> None:
        """Commits what is still on its way, briefly (a member that stops cleanly does not
        leave its successor messages to read again), and leaves the group."""
        consumer, self.consumer = self.consumer, None
        if consumer is None:
            return
        pending, self._committing, self._reached = {**self._committing, **self._reached}, {}, {}
        if pending:
            try:
                consumer.commit({p: OffsetAndMetadata(o, "", -1) for p, o in pending.items()},
                                timeout_ms=1000)
            except Exception as error:  # the broker away: the offsets are read again later
                log.info("inbox: offsets not committed on closing (%r)", error)
        leave(consumer, commit)


def leave(consumer: Consumer, commit: bool = False,
          grace: float | None = None) -> None:
    """Closes the consumer, leaving its group; a join still in flight is finished first.

    The local broker answers a LeaveGroup sent while the member's JoinGroup is pending only
    once that join completes, and then keeps the group waiting for ever for the departed
    leader's SyncGroup: no member joins it again (a node stopped a few seconds after the
    broker's restart, while its inbox was rejoining, left its successor without
    partitions). Finishing the join first (briefly: within the session timeout, or the
    broker is away and nothing is pending) makes it a LeaveGroup from a settled group,
    which every broker handles. The records that join's polls fetch are not handled, and
    no offset is committed for them: the group's next member reads them."""
    coordinator = getattr(consumer, "_coordinator", None)
    deadline = time.monotonic() + (JOIN_GRACE_SECONDS if grace is None else grace)
    try:
        while coordinator is not None and coordinator.rebalance_in_progress() \
                and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200, update_offsets=False)
    except Exception as error:  # the broker away: nothing to finish, it forgets the member
        log.info("inbox: a join in flight not finished before leaving (%r)", error)
    consumer.close(autocommit=commit)
