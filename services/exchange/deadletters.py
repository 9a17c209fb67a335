"""An agency's dead letters, for its operators: the inbox's (`homeward.deadletter.<me>`, on
the broker) listed, shown and replayed, and the relay's (on the sender's side, in the data
dir) listed.

Nothing here prints personal data: a dead letter keeps the sealed envelope as received, and
only its clear header (message id, type, sender, sequence, time; no case id) is shown, with
the refusal's reason (codes and field paths, never values). Replaying puts the dead letter
back on the agency's own inbox topic, as received, after an operator fixed its cause (a
directory that now lists the sender's key, a corrected rule): the inbox then checks it as
any message, and a message recorded since is a duplicate, receipted, never applied twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import TopicPartition

from services.contract.codec import decode
from services.exchange import topics
from services.exchange.clients import Consumer, Producer
from services.exchange.sealing import CLEAR, is_sealed


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    reason: str
    source_topic: str
    source_offset: int | None
    header: dict[str, Any]  # the sealed envelope's clear fields; empty if it was not sealed
    value: bytes
    key: bytes | None
    source_partition: int | None = None  # of the inbox topic it was read from

    def summary(self) -> dict[str, Any]:
        """What may be shown: where it came from, why it was refused, its clear header."""
        return {"offset": self.offset, "reason": self.reason, "source_topic": self.source_topic,
                "source_partition": self.source_partition,
                "source_offset": self.source_offset, **self.header,
                "sealed": bool(self.header), "bytes": len(self.value)}


def clear_header(value: bytes) -> dict[str, Any]:
    try:
        envelope = decode(value)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not is_sealed(envelope):
        return {}
    return {name: envelope.get(name) for name in CLEAR}


def read(reader: Consumer, agency: str, timeout: float = 5.0) -> list[DeadLetter]:
    """Every dead letter of the agency's inbox, oldest first, through `reader` (a
    consumer in no group), which is closed after."""
    try:
        name = topics.deadletter(agency)
        partitions = [TopicPartition(name, p) for p in reader.partitions_for_topic(name) or []]
        if not partitions:
            return []
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        ends = reader.end_offsets(partitions)
        found: list[DeadLetter] = []
        remaining = {p for p in partitions if ends[p] > 0}
        waited = 0.0
        while remaining and waited < timeout:
            for partition, records in reader.poll(timeout_ms=200).items():
                found += [letter(r) for r in records]
                if reader.position(partition) >= ends[partition]:
                    remaining.discard(partition)
            waited += 0.2
        return sorted(found, key=lambda d: d.offset)
    finally:
        reader.close()


def letter(record: Any) -> DeadLetter:
    headers = {name: value.decode() for name, value in record.headers or []}
    source, partition = headers.get("source-offset"), headers.get("source-partition")
    return DeadLetter(record.offset, headers.get("reason", ""), headers.get("source-topic", ""),
                      int(source) if source and source.isdigit() else None,
                      clear_header(record.value or b""), record.value or b"", record.key,
                      int(partition) if partition and partition.isdigit() else None)


def replay(producer: Producer, agency: str, dead: DeadLetter, timeout: float = 10.0) -> int:
    """Puts a dead letter back on the agency's inbox topic; the offset it got there. Only a
    sealed envelope can be replayed: of anything else the dead letter kept nothing."""
    if not dead.header:
        raise ValueError("only a sealed message can be replayed (nothing else was kept)")
    head = dead.header
    future = producer.send(topics.inbox(agency), key=dead.key, value=dead.value,
                           headers=topics.headers(head["schema"], head["message_id"],
                                                  head["sender"]))
    return int(future.get(timeout=timeout).offset)


def relay_dead_letters(path: Path) -> list[dict[str, Any]]:
    """The relay's own dead letters (events it could not send): ids, type, reason."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
