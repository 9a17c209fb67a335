"""The inbox's parts on their own, with no broker: records are `ConsumerRecord`-like
objects, the producer and the consumer small fakes that keep what they are given."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import PersistenceError
from kafka import TopicPartition

from events.values import Received
from services.exchange import partitions as partitions_module
from services.exchange import topics
from services.exchange.admission import Fact
from services.exchange.answers import MAX_KEPT_BYTES, Answers
from services.exchange.holding import Holding, HoldingLimits, Overflow
from services.exchange.parking import Parking, ParkingLimits
from services.exchange.partitions import Partitions

TOPIC = topics.inbox("XB-NRM")


@dataclass
class Record:
    offset: int
    partition: int = 0
    topic: str = TOPIC
    value: Any = b"{}"
    key: Any = None
    headers: Any = field(default_factory=list)


def fact(case: Any, sequence: int, sender: str = "XA-NRM") -> Fact:
    return Fact(case, "referral-sent", {}, Received(sender, str(uuid4()), "h", sequence))


# -- holding ---------------------------------------------------------------------


def test_held_messages_are_released_in_order_and_kept_from_commits() -> None:
    case, holding = uuid4(), Holding(HoldingLimits(per_case=5, total=5))
    assert holding.hold(Record(7), fact(case, 3)) == "held"
    assert holding.hold(Record(6), fact(case, 2)) == "held"
    assert sorted(holding.offsets(TOPIC, 0)) == [6, 7] and holding.offsets(TOPIC, 1) == []
    key, record, second = holding.successor(fact(case, 1)) or (None, None, None)
    assert record.offset == 6 and second.received.sequence == 2
    assert holding.successor(fact(case, 1)) is None  # taken out
    holding.put_back(key, record, second)  # not handled: held again
    assert sorted(holding.offsets(TOPIC, 0)) == [6, 7]


def test_at_the_bound_holding_overflows_and_past_a_pause_leaves_the_message() -> None:
    case, holding = uuid4(), Holding(HoldingLimits(per_case=1, total=10))
    holding.hold(Record(1), fact(case, 3))
    with pytest.raises(Overflow):
        holding.hold(Record(2), fact(case, 4))
    holding.overflowing.add((TOPIC, 0))
    assert holding.hold(Record(2), fact(case, 4)) == "left"
    assert holding.hold(Record(3, partition=1), fact(uuid4(), 4)) == "held"  # another case


def test_a_message_waiting_for_an_opening_is_given_up_after_the_wait() -> None:
    case, holding = uuid4(), Holding(unknown_case_wait=10)
    waiting = fact(case, 2)
    holding.hold(Record(4), waiting)
    holding.await_opening(waiting, now=0)
    assert holding.given_up(now=5) == []
    [(key, record)] = holding.given_up(now=11)
    assert record.offset == 4
    holding.drop(key)
    assert holding.held == {} and holding.given_up(now=20) == []


# -- parking ---------------------------------------------------------------------


def test_a_parked_message_is_tried_again_with_backoff_then_given_up() -> None:
    parking = Parking(ParkingLimits(per_sender=5, total=5), patience=60)
    record = Record(9)
    assert parking.set_aside(record, "not-yet-valid", "XA-NRM", now=0) is None
    [(key, parked)] = parking.parked.items()
    assert (parked.sender, parked.tries, parked.next_try) == ("XA-NRM", 1, 0.5)
    assert parking.due(now=0.4) == [] and parking.due(now=0.5) == [(key, parked)]
    assert parking.set_aside(record, "not-yet-valid", "XA-NRM", now=1) is None
    assert parking.parked[key].next_try == 2.0  # 1 s later: the wait doubled
    assert parking.offsets(TOPIC, 0) == [9]
    assert parking.set_aside(record, "not-yet-valid", "XA-NRM", now=61) \
        == "not-yet-valid (still after 60 s)"
    assert parking.parked == {}


def test_parking_is_bounded_per_sender_and_in_all() -> None:
    parking = Parking(ParkingLimits(per_sender=2, total=3))
    assert parking.set_aside(Record(1), "conflict", "XA-NRM", 0) is None
    assert parking.set_aside(Record(2), "conflict", "XA-NRM", 0) is None
    assert parking.set_aside(Record(3), "conflict", "XA-NRM", 0) \
        == "conflict (2 messages of XA-NRM set aside already, the bound)"
    assert parking.at_bound()  # XA-NRM is at its bound
    assert parking.set_aside(Record(4), "conflict", "XC-NRM", 0) is None
    assert parking.set_aside(Record(5), "conflict", "XD-NRM", 0) \
        == "conflict (3 messages set aside already, the bound)"
    assert parking.set_aside(Record(1), "conflict", "XA-NRM", 1) is None  # already parked


# -- answers ---------------------------------------------------------------------


class Sent:
    def __init__(self, fails: bool) -> None:
        self.fails, self.is_done = fails, True

    def succeeded(self) -> bool:
        return not self.fails

    def get(self, timeout: float | None = None) -> None:
        if self.fails:
            raise TimeoutError("the broker is away")


class Producer:
    made = 0

    def __init__(self, fails: bool = False) -> None:
        Producer.made += 1
        self.sent: list[tuple[str, Any, bytes, dict[str, bytes]]] = []
        self.fails, self.closed = fails, False

    def send(self, topic: str, key: Any, value: bytes, headers: list[tuple[str, bytes]]
             ) -> Sent:
        self.sent.append((topic, key, value, dict(headers)))
        return Sent(self.fails)

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


def test_dead_letters_keep_a_sealed_envelope_only_and_are_settled_together() -> None:
    producer = Producer()
    answers = Answers("XB-NRM", lambda: producer, None, lambda case: ("XA-NRM", "XB-NRM"))
    answers.dead_letter(Record(3, value=b'{"sealed": 1}', key=b"ref"), "unknown-key", True)
    answers.dead_letter(Record(4, value=b"clear", key=b"who"), "not-sealed")
    answers.dead_letter(Record(5, value=b"x" * (MAX_KEPT_BYTES + 1)), "too-large", True)
    answers.dead_letter(Record(6), "schema: \ud800 " + "x" * 5000)
    kept, clear, huge, long = producer.sent
    assert kept[:3] == (topics.deadletter("XB-NRM"), b"ref", b'{"sealed": 1}')
    assert (clear[1], clear[2]) == (None, b"") and (huge[1], huge[2]) == (None, b"")
    assert kept[3]["source-partition"] == b"0" and kept[3]["source-offset"] == b"3"
    assert len(long[3]["reason"]) <= 1000 * 3  # cut, and a lone surrogate encoded anyway
    answers.settle()
    assert answers.dead == 4 and Producer.made == 1


def test_a_dead_letter_the_broker_did_not_take_fails_the_settling() -> None:
    answers = Answers("XB-NRM", lambda: Producer(fails=True), None, lambda case: ("a", "b"))
    answers.dead_letter(Record(3), "not-json")
    with pytest.raises(TimeoutError):
        answers.settle()
    answers.settle()  # once failed, its records are read again: nothing more to wait for


def test_a_producer_that_lost_receipts_is_made_afresh() -> None:
    made: list[Producer] = []

    def producer() -> Producer:
        made.append(Producer(fails=not made))
        return made[-1]

    class Receipts:
        def receipt(self, fact: Fact, corridor: Any, case: Any) -> Any:
            return type("R", (), {"topic": "t", "key": b"k", "value": b"v", "headers": []})

    answers = Answers("XB-NRM", producer, Receipts(), lambda case: ("a", "b"))  # type: ignore[arg-type]
    answers.receipt(fact(uuid4(), 1))
    answers.acknowledge()
    assert made[0].closed and answers.receipted == 0
    answers.receipt(fact(uuid4(), 1))
    answers.acknowledge()
    assert len(made) == 2 and answers.receipted == 1


class Receipting:
    """Receipts that keep what they were asked: receipts made, partners' receipts recorded."""

    def __init__(self, away: bool = False) -> None:
        self.made: list[str] = []
        self.recorded: list[list[str]] = []
        self.away = away

    def receipt(self, fact: Fact, corridor: Any, case: Any) -> Any:
        self.made.append(fact.received.message_id)
        return type("R", (), {"topic": "t", "key": b"k", "value": b"v", "headers": []})

    def record_all(self, facts: list[Fact]) -> None:
        if self.away:
            raise PersistenceError("the store is away")
        self.recorded.append([f.received.message_id for f in facts])

    def record(self, fact: Fact) -> None:
        self.record_all([fact])


def test_a_batchs_receipts_are_paid_after_its_messages_the_partners_in_one_commit() -> None:
    producer, receipting = Producer(), Receipting()
    answers = Answers("XB-NRM", lambda: producer, receipting,  # type: ignore[arg-type]
                      lambda case: ("a", "b"))
    facts = [fact(uuid4(), 1) for _ in range(4)]
    answers.owe()
    answers.receipt(facts[0], None, 10)
    answers.record_receipt(facts[1], 11)
    answers.receipt(facts[2], None, 12)
    answers.record_receipt(facts[3], 13)
    assert producer.sent == [] and receipting.recorded == []  # owed while the batch runs
    answers.pay()
    ids = [f.received.message_id for f in facts]
    assert receipting.recorded == [[ids[1], ids[3]]]  # together
    assert receipting.made == [ids[0], ids[2]] and len(producer.sent) == 2
    answers.receipt(facts[0], None, 14)  # nothing owed any more: sent at once
    answers.record_receipt(facts[1], 15)
    assert len(producer.sent) == 3 and receipting.recorded[-1] == [ids[1]]


def test_receipts_that_cannot_be_recorded_read_the_batch_again_from_the_first() -> None:
    producer, receipting, rewound = Producer(), Receipting(away=True), []
    answers = Answers("XB-NRM", lambda: producer, receipting,  # type: ignore[arg-type]
                      lambda case: ("a", "b"))
    answers.owe()
    answers.receipt(fact(uuid4(), 1), None, 21)
    answers.record_receipt(fact(uuid4(), 1), 22)
    with pytest.raises(PersistenceError):
        answers.pay(rewound.append)
    assert rewound == [21] and producer.sent == []
    answers.owe()
    answers.receipt(fact(uuid4(), 1), None, 23)
    answers.forget_owed()  # a batch that failed: dropped, its records are read again
    answers.pay(rewound.append)
    assert producer.sent == [] and rewound == [21]


# -- partitions ------------------------------------------------------------------


class Consumer:
    """What the partitions ask of kafka-python's consumer, over one assigned partition."""

    def __init__(self, end: int) -> None:
        self.tp = TopicPartition(TOPIC, 0)
        self.end, self.at = end, 0
        self.paused: set[TopicPartition] = set()
        self.commits: list[int] = []
        self.closed = False

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Record]]:
        if self.tp in self.paused or self.at >= self.end:
            return {}
        records = [Record(o) for o in range(self.at, self.end)]
        self.at = self.end
        return {self.tp: records}

    def assignment(self) -> set[TopicPartition]:
        return {self.tp}

    def highwater(self, tp: TopicPartition) -> int:
        return self.end

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int:
        return self.at

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.at = offset

    def pause(self, tp: TopicPartition) -> None:
        self.paused.add(tp)

    def resume(self, tp: TopicPartition) -> None:
        self.paused.discard(tp)

    def commit_async(self, offsets: dict[TopicPartition, Any], callback: Any) -> None:
        self.commits.append(offsets[self.tp].offset)
        callback(offsets, None)

    def commit(self, offsets: dict[TopicPartition, Any], timeout_ms: int | None = None) -> None:
        self.commits.append(offsets[self.tp].offset)

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.end for tp in tps}

    def close(self, autocommit: bool = False) -> None:
        self.closed = True


def test_a_rewound_partition_that_never_moves_is_stalled_and_one_that_moves_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = Consumer(end=5)
    partitions = Partitions(lambda: consumer, TOPIC, stall_seconds=0.0)  # type: ignore[arg-type, return-value]
    batches = partitions.poll(100)
    assert partitions.assigned and len(batches[consumer.tp]) == 5
    partitions.rewind(batches, consumer.tp, 2)  # offset 2 could not be handled
    partitions.observe_progress()
    assert partitions.stalled() is not None and "stood at offset 2" in (partitions.stalled()
                                                                         or "")
    partitions.poll(100)  # read on past it
    partitions.observe_progress()
    assert partitions.stalled() is None


def test_a_paused_partition_is_resumed_after_its_pause_and_commits_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(partitions_module, "PAUSE_SECONDS", 0.0)
    consumer = Consumer(end=3)
    partitions = Partitions(lambda: consumer, TOPIC, stall_seconds=0.0)  # type: ignore[arg-type, return-value]
    partitions.poll(100)
    partitions.pause(consumer.tp, 1)
    assert partitions.poll(100) == {} and partitions.stalled() is None  # paused: said apart
    assert partitions.resume_due() == [consumer.tp]
    assert [r.offset for r in partitions.poll(100)[consumer.tp]] == [1, 2]
    partitions.commit(consumer.tp, 3)
    partitions.close()
    assert consumer.commits == [3] and consumer.closed


def test_offsets_reached_between_commits_leave_together_once_one_is_due() -> None:
    consumer = Consumer(end=5)
    partitions = Partitions(lambda: consumer, TOPIC)  # type: ignore[arg-type, return-value]
    partitions.commit_every = 0.2
    partitions.poll(100)
    partitions.commit(consumer.tp, 1)  # the first: sent at once
    partitions.commit(consumer.tp, 2)
    partitions.commit(consumer.tp, 3)  # within the interval: kept, the latest only
    assert consumer.commits == [1]
    time.sleep(0.25)
    assert partitions.poll(100) == {}  # once due, a poll sends what waits, though it reads none
    assert consumer.commits == [1, 3]
    partitions.commit(consumer.tp, 4)
    partitions.close()  # a member closing commits what waits
    assert consumer.commits == [1, 3, 4] and consumer.closed


def test_a_member_past_the_end_of_its_log_rejoins(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Consumer] = []

    def new() -> Consumer:
        made.append(Consumer(end=2))
        return made[-1]

    partitions = Partitions(new, TOPIC)  # type: ignore[arg-type]
    partitions.poll(100)
    made[0].at = 40  # where a broker that lost its log leaves it
    partitions.check_positions()
    partitions.check_positions()
    assert partitions.rejoins == 1 and made[0].closed and partitions.consumer is None
    partitions.poll(100)
    assert len(made) == 2
