"""Fuzz target: the inbox's admission of raw Kafka records (value, key, headers).

Whatever arrives on the inbox topic, no exception may escape `Inbox.handle`, and every
record must end applied (recorded), recognised as recorded before, held for its
predecessor, set aside within its bound, or dead-lettered with a reason. The world is
real (tests/harness/inbox_world.py): XA's relay builds signed messages of a referred case
with the real codec and Ed25519 keys, XB's inbox admits them into a real SQLite store.

Some inputs are raw bytes as they come; some are shaped: JSON nested to a fuzzed depth
(alone or inside an envelope's shell), JSON values of every type, fillers of fuzzed sizes
up to past the record bound, genuine sealed envelopes with one field of the shell (the
ciphertext, the key ids, the signature...) replaced and signed again; the others take one
of the genuine messages (sealed to XB as the relay sends them), most with one field changed
to a fuzzed value, signed and sealed again with the sender's keys, so that the fuzzer
reaches past the seal and the signatures into the schemas and the domain.

    make fuzz                                   # atheris, bounded (FUZZ_SECONDS)
    python tests/fuzz/fuzz_inbox.py -runs=5000  # atheris directly (libFuzzer flags)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.harness.inbox_world import Record, World

FIELDS = [["payload"], ["sequence"], ["case_id"], ["schema"], ["recipient"], ["sender"],
          ["occurred_at"], ["message_id"], ["payload", "person"], ["payload", "scopes"],
          ["integrity", "hash"], ["integrity", "prev_hash"], ["payload", "kind"]]


SHELL_FIELDS = [["sealed", "ciphertext"], ["sealed", "key_id"], ["sealed", "suite"],
                ["sealed"], ["integrity", "key_id"], ["integrity", "signature"], ["integrity"],
                ["sender"], ["recipient"], ["schema"], ["sequence"], ["case_ref"],
                ["message_id"], ["envelope"], ["extra"]]
JSON_TYPES = (b"null", b"true", b"0", b"-1.5e308", b'""', b'"homeward.envelope.v2"', b"[]",
              b"{}", b'{"envelope": "homeward.envelope.v2"}')
SIZES = (0, 1, 1000, 100_000, 270_000, 900_000, 1_100_000)


def nested(fdp: Any) -> bytes:
    """A document nested to a fuzzed depth, of arrays, objects or both, maybe inside an
    envelope's shell: what made parsing recurse without end."""
    levels = fdp.ConsumeIntInRange(0, 20_000)
    opener, closer = [(b"[", b"]"), (b'{"a":', b"}"), (b'[{"a":', b"}]")][
        fdp.ConsumeIntInRange(0, 2)]
    inner = opener * levels + JSON_TYPES[fdp.ConsumeIntInRange(0, len(JSON_TYPES) - 1)] \
        + closer * (levels if fdp.ConsumeBool() else fdp.ConsumeIntInRange(0, levels))
    if fdp.ConsumeBool():
        return b'{"envelope": "homeward.envelope.v2", "sealed": ' + inner + b"}"
    return inner


def fuzzed_value(fdp: Any) -> Any:
    """A value of any JSON type, or a long one."""
    choice = fdp.ConsumeIntInRange(0, 7)
    if choice == 6:
        return "A" * SIZES[fdp.ConsumeIntInRange(0, len(SIZES) - 1)]
    if choice == 7:
        return {"k": [fdp.ConsumeUnicodeNoSurrogates(10)]}
    return [fdp.ConsumeUnicodeNoSurrogates(40), fdp.ConsumeInt(8), None, fdp.ConsumeBool(),
            [fdp.ConsumeUnicodeNoSurrogates(10)], fdp.ConsumeFloat()][choice]


def record_from(world: World, data: bytes) -> Record:
    """One record from the fuzzer's bytes (atheris or hypothesis)."""
    import atheris

    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 7)
    key = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40)) if fdp.ConsumeBool() else None
    headers = [(fdp.ConsumeUnicodeNoSurrogates(12), fdp.ConsumeBytes(24))
               for _ in range(fdp.ConsumeIntInRange(0, 3))]
    value: Any
    if mode == 0:  # raw bytes
        value = fdp.ConsumeBytes(fdp.remaining_bytes())
    elif mode == 1:  # a genuine message, as it is (again: a duplicate or in order)
        value = world.genuine_record(fdp.ConsumeIntInRange(0, 9))
    elif mode == 2:  # nesting to a fuzzed depth
        value = nested(fdp)
    elif mode == 3:  # a JSON value of another type than an envelope, or none at all
        value = [None, *JSON_TYPES][fdp.ConsumeIntInRange(0, len(JSON_TYPES))]
    elif mode == 4:  # a fuzzed size of filler
        value = b" " * SIZES[fdp.ConsumeIntInRange(0, len(SIZES) - 1)] + b"{}"
    elif mode == 5:  # a genuine sealed envelope with one field of its shell fuzzed, signed
        value = world.shell(fdp.ConsumeIntInRange(0, 9), SHELL_FIELDS[fdp.ConsumeIntInRange(
            0, len(SHELL_FIELDS) - 1)], fuzzed_value(fdp))
    else:  # a genuine message with one field fuzzed, signed again
        which, path = fdp.ConsumeIntInRange(0, 9), FIELDS[fdp.ConsumeIntInRange(
            0, len(FIELDS) - 1)]
        value = world.resigned(which, path, fuzzed_value(fdp))
    return Record(value=value, key=key, headers=headers)


def seed(value: bytes) -> bytes:
    """Fuzzer input that `record_from` reads as the raw record `value`, with no key and no
    headers (for a corpus): atheris takes booleans from the front, integers from the end."""
    data = b"\x00" + value + b"\x00\x00"  # no key; then (from the end) raw mode, no headers
    record = record_from(None, data)  # type: ignore[arg-type]  # raw bytes need no world
    assert (record.value, record.key, record.headers) == (value, None, []), "not read as given"
    return data


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
