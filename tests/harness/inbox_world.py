"""An inbox over a real store with no broker: XA's relay builds genuine signed messages of
a referred case with the real codec and keys, XB's inbox admits records handed to it, and
what it would put on the dead-letter topic is kept here. For the fuzz target and the unit
tests of the inbox's parts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eventsourcing.cipher import AESCipher

from events.steps import OpenCase
from events.values import Actor
from services.contract.codec import encode, sign
from services.exchange import topics
from services.exchange.directory import Directory
from services.exchange.inbox import Inbox
from services.exchange.relay import Relay
from services.exchange.sealing import seal
from services.network.demo_cases import repatriation
from services.signing import SigningKey
from tests.harness.stores import homeward
from tests.harness.walks import actor

XA, XB = "XA-NRM", "XB-NRM"
# Recorded now, recorded before (a duplicate), held for its predecessor, set aside to try
# again (a passing refusal, within its bound), or dead-lettered.
ENDINGS = ("applied", "duplicate", "held", "parked", "dead")


@dataclass
class Record:
    """What kafka-python hands the inbox: the fields it reads."""

    value: Any
    key: Any = None
    headers: Any = field(default_factory=list)
    topic: str = topics.inbox(XB)
    partition: int = 0
    offset: int = 0


@dataclass
class Sent:
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        return self.headers["reason"]


@dataclass
class DeadLetters:
    """A producer for the dead-letter topic that keeps what it is given, as the broker
    would: bytes, or it fails as the client would."""

    sent: list[Sent] = field(default_factory=list)

    def send(self, topic: str, key: bytes | None, value: bytes,
             headers: list[tuple[str, bytes]]) -> DeadLetters:
        assert topic == topics.deadletter(XB)
        assert isinstance(value, bytes) and isinstance(key, bytes | None)
        self.sent.append(Sent(key, value, {n: v.decode() for n, v in headers}))
        return self

    def get(self, timeout: float | None = None) -> None:
        return None


def no_consumer() -> Any:
    raise AssertionError("records are handed to the inbox itself")


def sqlite(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path),
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": AESCipher.create_key(num_bytes=32)}


class World:
    def __init__(self, home: Path) -> None:
        self.key, self.partner = SigningKey.generate(XA), SigningKey.generate(XB)
        directory = Directory().with_agency(self.key).with_agency(self.partner)
        directory = self.directory = directory.with_corridor(XA, XB)
        sender = homeward(sqlite(home / "xa.sqlite"))
        story = repatriation(datetime.now(UTC).date(), receiving=XB)
        case_id = sender.open_case(OpenCase(**story.opening), Actor(XA, "worker")).id
        for move in story.moves[:2]:  # consent, referral: the case crosses
            sender.record(case_id, move.path, move.body, actor(move, XA, XB))
        relay = Relay(sender, self.key, no_consumer, lambda: self.directory)
        out = relay.messages(list(sender.recorder.select_notifications(1, 1000)))
        sent = [m for m in out if m.topic == topics.inbox(XB)]
        self.genuine = [m.envelope for m in sent]
        self.case_ref = sent[0].case_ref
        sender.close()
        self.dead = DeadLetters()
        self.receiver = homeward(sqlite(home / "xb.sqlite"))
        self.inbox = Inbox(self.receiver, self.partner.sealing, lambda: self.directory,
                           no_consumer, lambda: self.dead)  # type: ignore[arg-type,return-value]
        self.offset = 0

    def close(self) -> None:
        self.receiver.close()

    def admit(self, record: Record) -> str:
        """Hands one record to the inbox; fails unless it ends as the contract says."""
        self.offset += 1
        record.offset = self.offset
        dead_before = len(self.dead.sent)
        ending = self.inbox.handle(record)  # type: ignore[arg-type]
        assert ending in ENDINGS, ending
        if ending == "dead":
            assert len(self.dead.sent) == dead_before + 1, "dead-lettered once"
            assert self.dead.sent[-1].reason.strip(), "with a reason"
        else:
            assert len(self.dead.sent) == dead_before, f"{ending}, yet dead-lettered"
        return ending

    def wire(self, message: dict[str, Any], signer: SigningKey | None = None) -> bytes:
        """A signed message as it travels: sealed to XB and signed again by XA."""
        return encode(self.sealed(message, signer))

    def sealed(self, message: dict[str, Any], signer: SigningKey | None = None
               ) -> dict[str, Any]:
        sealing = self.directory.sealing(XB)
        assert sealing is not None
        return seal(message, self.case_ref, sealing, signer or self.key)

    def genuine_record(self, which: int) -> bytes:
        return self.wire(self.genuine[which % len(self.genuine)])

    def resigned(self, which: int, path: list[str], value: Any) -> bytes:
        """A genuine message with one field replaced, signed again by its sender."""
        envelope = json.loads(json.dumps(self.genuine[which % len(self.genuine)]))
        replace(envelope, path, value)
        try:
            return self.wire(sign(envelope, self.key))
        except Exception:  # not canonical JSON (a float NaN, say): send it unsigned
            return json.dumps(envelope, default=str).encode()

    def shell(self, which: int, path: list[str], value: Any) -> bytes:
        """A genuine sealed envelope (the outer one) with one field replaced and signed
        again: bad fields around a ciphertext that opens, or not."""
        outer = self.sealed(self.genuine[which % len(self.genuine)])
        replace(outer, path, value)
        try:
            return encode(sign(outer, self.key))
        except Exception:
            return json.dumps(outer, default=str).encode()

    def listed_later(self) -> SigningKey:
        """A key of XA the directory lists from an hour on (its holder signs early)."""
        key = SigningKey.generate(XA)
        later = datetime.now(UTC) + timedelta(hours=1)
        self.directory = self.directory.with_rotated_key(key, later, later)
        return key


def replace(document: dict[str, Any], path: list[str], value: Any) -> None:
    """Sets the field at `path` in `document` (made on the way where missing), in place."""
    target: Any = document
    for step in path[:-1]:
        target = target.setdefault(step, {}) if isinstance(target, dict) else {}
    if isinstance(target, dict) and path:
        target[path[-1]] = value
