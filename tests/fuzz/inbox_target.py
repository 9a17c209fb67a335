"""Fuzz target: the inbox's admission of raw Kafka records (value, key, headers).

Whatever arrives on the inbox topic, no exception may escape `Inbox.handle`, and every
record must end applied (recorded), recognised as recorded before, held for its
predecessor, or dead-lettered with a reason. The world is real: XA's relay builds signed messages of a referred case with
the real codec and Ed25519 keys, XB's inbox admits them into a real SQLite store.

Some inputs are raw bytes as they come; the others take one of the genuine messages
(sealed to XB as the relay sends them), most with one field changed to a fuzzed value,
signed and sealed again with the sender's keys, so that the fuzzer reaches past the
seal and the signatures into the schemas and the domain.

    make fuzz                                   # atheris, bounded (FUZZ_SECONDS)
    python tests/fuzz/fuzz_inbox.py -runs=5000  # atheris directly (libFuzzer flags)
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.cipher import AESCipher

from events.steps import OpenCase
from events.values import Actor
from services.application import Homeward
from services.contract.codec import encode, sign
from services.exchange import topics
from services.exchange.directory import Directory
from services.exchange.inbox import Inbox
from services.exchange.relay import Relay
from services.exchange.sealing import seal
from services.network.demo_cases import repatriation
from services.signing import SigningKey
from tests.harness.walks import actor

XA, XB = "XA-NRM", "XB-NRM"
# Recorded now, recorded before (a duplicate), held for its predecessor, or dead-lettered.
ENDINGS = ("applied", "duplicate", "held", "dead")


@dataclass
class Record:
    """What kafka-python hands the inbox: the fields it reads."""

    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]
    topic: str = topics.inbox(XB)
    partition: int = 0
    offset: int = 0


@dataclass
class Sent:
    reason: str


@dataclass
class DeadLetters:
    """A producer for the dead-letter topic that keeps what it is given."""

    sent: list[Sent] = field(default_factory=list)

    def send(self, topic: str, key: bytes | None, value: bytes,
             headers: list[tuple[str, bytes]]) -> DeadLetters:
        assert topic == topics.deadletter(XB)
        self.sent.append(Sent(dict(headers)["reason"].decode()))
        return self

    def get(self, timeout: float | None = None) -> None:
        return None


def no_consumer() -> Any:
    raise AssertionError("the target hands records to the inbox itself")


def sqlite(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path),
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": AESCipher.create_key(num_bytes=32)}


class World:
    def __init__(self, home: Path) -> None:
        self.key, self.partner = SigningKey.generate(XA), SigningKey.generate(XB)
        directory = Directory().with_agency(self.key).with_agency(self.partner)
        directory = self.directory = directory.with_corridor(XA, XB)
        sender = Homeward(sqlite(home / "xa.sqlite"))
        story = repatriation(datetime.now(UTC).date(), receiving=XB)
        case_id = sender.open_case(OpenCase(**story.opening), Actor(XA, "worker")).id
        for move in story.moves[:2]:  # consent, referral: the case crosses
            sender.record(case_id, move.path, move.body, actor(move, XA, XB))
        relay = Relay(sender, self.key, no_consumer, lambda: directory)
        out = relay.messages(list(sender.recorder.select_notifications(1, 1000)))
        sent = [m for m in out if m.topic == topics.inbox(XB)]
        self.genuine = [m.envelope for m in sent]
        self.case_ref = sent[0].case_ref
        sender.close()
        self.dead = DeadLetters()
        self.receiver = Homeward(sqlite(home / "xb.sqlite"))
        self.inbox = Inbox(self.receiver, self.partner.sealing, lambda: directory, no_consumer,
                           lambda: self.dead)  # type: ignore[arg-type,return-value]
        self.offset = 0

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

    def wire(self, message: dict[str, Any]) -> bytes:
        """A signed message as it travels: sealed to XB and signed again by XA."""
        sealing = self.directory.sealing(XB)
        assert sealing is not None
        return encode(seal(message, self.case_ref, sealing, self.key))

    def genuine_record(self, which: int) -> bytes:
        return self.wire(self.genuine[which % len(self.genuine)])

    def resigned(self, which: int, path: list[str], value: Any) -> bytes:
        """A genuine message with one field replaced, signed again by its sender."""
        envelope = json.loads(json.dumps(self.genuine[which % len(self.genuine)]))
        target = envelope
        for step in path[:-1]:
            target = target.setdefault(step, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict) and path:
            target[path[-1]] = value
        try:
            return self.wire(sign(envelope, self.key))
        except Exception:  # not canonical JSON (a float NaN, say): send it unsigned
            return json.dumps(envelope, default=str).encode()


FIELDS = [["payload"], ["sequence"], ["case_id"], ["schema"], ["recipient"], ["sender"],
          ["occurred_at"], ["message_id"], ["payload", "person"], ["payload", "scopes"],
          ["integrity", "hash"], ["integrity", "prev_hash"], ["payload", "kind"]]


def record_from(world: World, data: bytes) -> Record:
    """One record from the fuzzer's bytes (atheris or hypothesis)."""
    import atheris

    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 3)
    key = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40)) if fdp.ConsumeBool() else None
    headers = [(fdp.ConsumeUnicodeNoSurrogates(12), fdp.ConsumeBytes(24))
               for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if mode == 0:  # raw bytes
        value = fdp.ConsumeBytes(fdp.remaining_bytes())
    elif mode == 1:  # a genuine message, as it is (again: a duplicate or in order)
        value = world.genuine_record(fdp.ConsumeIntInRange(0, 9))
    else:  # a genuine message with one field fuzzed, signed again
        which, path = fdp.ConsumeIntInRange(0, 9), FIELDS[fdp.ConsumeIntInRange(
            0, len(FIELDS) - 1)]
        choice = fdp.ConsumeIntInRange(0, 4)
        fuzzed: Any = [fdp.ConsumeUnicodeNoSurrogates(40), fdp.ConsumeInt(8), None,
                       fdp.ConsumeBool(), [fdp.ConsumeUnicodeNoSurrogates(10)]][choice]
        value = world.resigned(which, path, fuzzed)
    return Record(value=value, key=key, headers=headers)


_world: World | None = None


def world() -> World:
    global _world
    if _world is None:
        _world = World(Path(tempfile.mkdtemp(prefix="homeward-fuzz-")))
    return _world


def test_one_input(data: bytes) -> None:
    w = world()
    w.admit(record_from(w, data))


def main(argv: list[str]) -> None:
    import atheris

    world()  # built before fuzzing: its set-up is not what is fuzzed
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
