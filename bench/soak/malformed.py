"""Malformed records, as a broken or hostile client could put them on the broker: on every
partition of each agency's inbox and on the monitoring topic. None of them may stop a
partition; each is refused (an inbox dead-letters it, the monitor leaves it out), and
nothing an agency sent is refused with them.

The sealed ones are signed with the sender's real key, so they pass the signature and
fail only where they are meant to: one carries a ciphertext far larger than any message,
the other a ciphertext that does not open with the recipient's key."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from services.contract.codec import encode, sign
from services.exchange import topics
from services.exchange.directory import load
from services.exchange.sealing import ENVELOPE_V2, SUITE_NAME
from services.files import default_key_dir
from services.signing import b64url, load_or_create

NESTING = 3000  # "[" * 3000 + "]" * 3000: about 6 KB, far deeper than any JSON parser's stack
HUGE_CIPHERTEXT = 700_000  # characters: under the broker's 1 MB, far over any message


@dataclass
class Injected:
    """What was put on the broker: how many records per kind, and the message ids of the
    sealed ones (a dead letter bearing one of them is expected)."""

    kinds: dict[str, int] = field(default_factory=dict)
    message_ids: set[str] = field(default_factory=set)
    per_topic: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return sum(self.kinds.values())


def kinds(rng: random.Random, sealed: Callable[[int], bytes]) -> dict[str, bytes]:
    return {
        "nested-json": b"[" * NESTING + b"]" * NESTING,
        "garbage": rng.randbytes(512),
        "empty": b"",
        "null": b"null",
        "json-string": b'"a JSON string, not an envelope"',
        "huge-ciphertext": sealed(HUGE_CIPHERTEXT),
        "undecryptable": sealed(256),
    }


def sealed_envelope(data_dir: Path, sender: str, recipient: str, size: int,
                    rng: random.Random, ids: set[str]) -> bytes:
    """A sealed envelope as the relay makes one, signed with the sender's own key and
    sealed under the recipient's key id, whose ciphertext is random: it never opens."""
    directory = load(data_dir / "directory.json")
    to = directory.sealing(recipient)
    assert to is not None, f"the directory lists no sealing key for {recipient}"
    key = load_or_create(default_key_dir(data_dir / sender.lower()), sender)  # its own key
    message_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    ids.add(message_id)
    head: dict[str, Any] = {
        "envelope": ENVELOPE_V2, "message_id": message_id, "schema": "homeward.referral-sent.v1",
        "case_ref": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "sender": sender,
        "recipient": recipient, "sequence": 1,
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    ciphertext = b64url(rng.randbytes(size * 3 // 4))
    sealed = {"suite": SUITE_NAME, "key_id": to.sealing_key_id, "ciphertext": ciphertext}
    return encode(sign({**head, "sealed": sealed, "integrity": {}}, key))


def inject(bootstrap: str, data_dir: Path, rng: random.Random, injected: Injected,
           agencies: tuple[str, str]) -> int:
    """Every kind on every partition of both inboxes and of the monitoring topic; how many
    records the broker acknowledged."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=2_000_000,
                             request_timeout_ms=10_000, retries=3)
    sent = 0
    try:
        targets = [(topics.inbox(agency), agencies[1 - i], agency)
                   for i, agency in enumerate(agencies)]
        targets.append((topics.MONITORING, agencies[0], "monitor"))
        for topic, sender, recipient in targets:
            partitions = sorted(producer.partitions_for(topic) or {0})
            for partition in partitions:
                def sealed(size: int, s: str = sender, r: str = recipient) -> bytes:
                    return sealed_envelope(data_dir, s, r, size, rng, injected.message_ids)

                for name, value in kinds(rng, sealed).items():
                    producer.send(topic, value=value, partition=partition,
                                  key=b"soak").get(timeout=15)
                    injected.kinds[name] = injected.kinds.get(name, 0) + 1
                    injected.per_topic[topic] = injected.per_topic.get(topic, 0) + 1
                    sent += 1
    finally:
        producer.close(timeout=5)
    return sent
