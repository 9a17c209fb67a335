"""Whatever a record holds, the inbox ends it (recorded, held, set aside within its bound,
or dead-lettered with a reason) and reads on: nothing one record raises reaches the poll
loop. Real stores and keys; the records are handed to the inbox as kafka-python hands
them, and what it dead-letters is kept here instead of on the broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import TopicPartition

from services.contract.codec import encode
from services.exchange import admission, topics
from services.exchange.inbox import Inbox, ParkingLimits
from services.exchange.records import MAX_CIPHERTEXT, MAX_RECORD_BYTES
from services.signing import SigningKey
from tests.harness.inbox_world import XA, XB, Record, World

NESTED = b"[" * 3000 + b"]" * 3000  # 6 KB: json.loads alone raises RecursionError
NESTED_OBJECT = b'{"a":' * 1500 + b"1" + b"}" * 1500
HOSTILE: dict[str, tuple[Callable[[World], Record], str]] = {
    "nested arrays": (lambda w: Record(NESTED), "too-deep"),
    "nested objects": (lambda w: Record(NESTED_OBJECT), "too-deep"),
    "nested inside a sealed shell": (
        lambda w: Record(w.shell(0, ["sealed", "suite"], None)[:-1] + b',"x":' + NESTED
                         + b"}"), "too-deep"),
    "garbage bytes": (lambda w: Record(b"\xff\xfe\x00\x81garbage{[\"", b"\x00"), "not-json"),
    "empty": (lambda w: Record(b""), "empty"),
    "no value (a tombstone)": (lambda w: Record(None), "empty"),
    "null": (lambda w: Record(b"null"), "not-sealed"),
    "a string": (lambda w: Record(b'"homeward.envelope.v2"'), "not-sealed"),
    "a number": (lambda w: Record(b"42"), "not-sealed"),
    "a number too long to read": (lambda w: Record(b"1" * 5000), "not-json"),
    "an object, not an envelope": (lambda w: Record(b'{"envelope": 1}'), "not-sealed"),
    "a key with a lone surrogate": (
        lambda w: Record(b'{"envelope":"homeward.envelope.v2","\\ud800":1}'), "schema"),
    "a 900 kB ciphertext": (
        lambda w: Record(w.shell(0, ["sealed", "ciphertext"], "A" * 900_000)), "too-large"),
    "a ciphertext that does not open": (
        lambda w: Record(w.shell(0, ["sealed", "ciphertext"], "QUJD" * 40)), "unsealable"),
    "a sealed shell with a bad field": (
        lambda w: Record(w.shell(0, ["sequence"], "one")), "schema"),
    "a key never listed for a listed agency": (
        lambda w: Record(w.wire(w.genuine[0], SigningKey.generate(XA))), "unknown-key"),
    "a payload its schema refuses": (
        lambda w: Record(w.resigned(0, ["payload"], "not an object")), "schema"),
    "a record over the bound": (lambda w: Record(b" " * (MAX_RECORD_BYTES + 1)), "too-large"),
    "a key over the bound": (
        lambda w: Record(w.genuine_record(0), b"k" * MAX_RECORD_BYTES), "too-large"),
    "headers over the bound": (
        lambda w: Record(w.genuine_record(0), None, [("h", b"v" * MAX_RECORD_BYTES)]),
        "too-large"),
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.close()


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_record_is_dead_lettered_with_its_reason_and_the_rest_is_read_on(
    world: World, kind: str,
) -> None:
    make, code = HOSTILE[kind]
    assert world.admit(make(world)) == "dead"
    reason = world.dead.sent[-1].reason
    assert reason.split(":")[0].split(" ")[0] == code
    reason.encode("utf-8")  # whatever the record quoted, its reason can be logged and sent
    endings = [world.admit(Record(world.genuine_record(i))) for i in range(len(world.genuine))]
    assert endings == ["applied"] * len(world.genuine)


def test_the_size_is_checked_before_the_record_is_parsed(world: World) -> None:
    deep_and_large = b"[" * (MAX_RECORD_BYTES // 2 + 1) + b"]" * (MAX_RECORD_BYTES // 2 + 1)
    world.admit(Record(deep_and_large))
    assert world.dead.sent[-1].reason.startswith("too-large")


def test_a_record_is_parsed_once_and_dead_lettering_reads_nothing_again(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[Any] = []
    decode = admission.decode
    monkeypatch.setattr(admission, "decode", lambda v: parsed.append(v) or decode(v))
    world.admit(Record(NESTED))
    world.admit(Record(world.wire(world.genuine[0], SigningKey.generate(XA))))
    assert len(parsed) == 2 and len(world.dead.sent) == 2


def test_a_dead_letter_keeps_a_sealed_envelope_and_nothing_of_anything_else(
    world: World,
) -> None:
    forged = world.wire(world.genuine[0], SigningKey.generate(XA))
    world.admit(Record(forged, b"case-ref"))
    world.admit(Record(b'{"name": "in clear"}', b"who"))
    world.admit(Record(world.shell(0, ["sealed", "ciphertext"], "A" * 900_000), b"ref"))
    kept, clear, huge = world.dead.sent
    assert (kept.value, kept.key) == (forged, b"case-ref")
    assert (clear.value, clear.key) == (b"", None)
    assert (huge.value, huge.key) == (b"", None)  # too large to keep: the reason says so
    assert f"more than {MAX_CIPHERTEXT}" in huge.reason
    assert {s.headers["source-partition"] for s in world.dead.sent} == {"0"}


def test_headers_that_lie_change_nothing(world: World) -> None:
    lies = [("schema", b"homeward.case-closed.v1"), ("sender", b"XZ-NRM"),
            ("message-id", b"\xff\xfe"), ("", b"")]
    endings = [world.admit(Record(world.genuine_record(i), b"\x00", lies))
               for i in range(len(world.genuine))]
    assert endings == ["applied"] * len(world.genuine)


def test_a_key_listed_from_later_is_set_aside_within_its_bound_per_sender(
    world: World,
) -> None:
    early = world.listed_later()
    world.inbox.parked_bound = ParkingLimits(per_sender=2, total=10)
    endings = [world.admit(Record(world.wire(world.genuine[i], early)))
               for i in range(len(world.genuine))]
    assert endings == ["parked", "parked", "dead"]
    assert world.dead.sent[-1].reason.startswith("not-yet-valid")
    assert "2 messages of XA-NRM set aside already, the bound" in world.dead.sent[-1].reason
    assert world.dead.sent[-1].value  # sealed and signed: kept for an operator
    assert "at the bound" in (world.inbox.trouble() or "")


def test_beyond_the_total_bound_any_sender_is_dead_lettered(world: World) -> None:
    early = world.listed_later()
    world.inbox.parked_bound = ParkingLimits(per_sender=10, total=1)
    assert world.admit(Record(world.wire(world.genuine[0], early))) == "parked"
    assert world.admit(Record(world.wire(world.genuine[1], early))) == "dead"
    assert "1 messages set aside already, the bound" in world.dead.sent[-1].reason


def test_a_key_listed_from_later_parks_only_what_its_holder_signed(world: World) -> None:
    early = world.listed_later()
    impostor = SigningKey(XA, SigningKey.generate(XA).private)
    forged = world.sealed(world.genuine[0], impostor)
    forged["integrity"]["key_id"] = early.key_id  # names the listed key, signed with another
    assert world.admit(Record(encode(forged))) == "dead"
    assert world.dead.sent[-1].reason.startswith("bad-signature")
    assert world.inbox.parked == {}


class Flood:
    """A consumer of one partition holding `count` records of garbage: what a flood of
    them looks like to the inbox's poll."""

    def __init__(self, count: int) -> None:
        self.tp = TopicPartition(topics.inbox(XB), 0)
        self.records = [Record(b"\xff" * 64, offset=o) for o in range(count)]
        self.at, self.commits = 0, [0]
        self.polls = 0

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Record]]:
        self.polls += 1
        batch, self.at = self.records[self.at:], len(self.records)
        return {self.tp: batch} if batch else {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.at = offset

    def commit_async(self, offsets: dict[TopicPartition, Any], callback: Any) -> None:
        self.commits.append(offsets[self.tp].offset)
        callback(offsets, None)

    def assignment(self) -> set[TopicPartition]:
        return {self.tp}

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.records)

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int:
        return self.at

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}


def test_a_poll_that_runs_out_of_time_commits_what_it_handled_and_reads_the_rest_next(
    world: World,
) -> None:
    flood = Flood(5)
    inbox = Inbox(world.receiver, world.partner.sealing, lambda: world.directory,
                  lambda: flood, lambda: world.dead)  # type: ignore[arg-type,return-value]
    inbox.batch_seconds = 0.0  # every record past the first is out of time
    inbox.partitions.commit_every = 0.0  # each poll's commit sent at once, not gathered
    handled = [inbox.poll_once() for _ in range(6)]
    assert handled == [1, 1, 1, 1, 1, 0]  # one a poll, none read twice
    assert flood.commits == [0, 1, 2, 3, 4, 5]  # each poll's progress kept
    assert [s.reason.split(":")[0] for s in world.dead.sent] == ["not-json"] * 5
