"""A bounded run of the inbox fuzz target (atheris, coverage-guided) in the suite, and
proof that the target's checks can fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inbox_target import Record, World, record_from, seed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNS = 3000  # about five seconds


# Records that stopped inboxes before: the corpus every bounded run starts from.
CORPUS = {
    "nested-arrays": b"[" * 3000 + b"]" * 3000,
    "nested-objects": b'{"a":' * 1500 + b"1" + b"}" * 1500,
    "nested-in-a-shell": b'{"envelope": "homeward.envelope.v2", "sealed": ' + b"[" * 5000
                         + b"]" * 5000 + b"}",
    "null": b"null", "a-string": b'"homeward.envelope.v2"', "empty": b"",
}


def run_atheris(tmp_path: Path, *corpus: Path, runs: int = RUNS
                ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, (ROOT, ROOT / "tests", HERE)))}
    return subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fuzz" / "fuzz_inbox.py"), *map(str, corpus),
         f"-runs={runs}", "-seed=1", f"-artifact_prefix={tmp_path}/"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)


def write_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, value in CORPUS.items():
        (corpus / name).write_bytes(seed(value))
    return corpus


def test_a_bounded_atheris_run_from_the_corpus_finds_nothing(tmp_path: Path) -> None:
    done = run_atheris(tmp_path, write_corpus(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Done {RUNS} runs" in done.stderr
    assert not list(tmp_path.glob("crash-*"))


def test_the_corpus_holds_what_stopped_inboxes(tmp_path: Path) -> None:
    world = World(tmp_path)
    for value in CORPUS.values():
        assert record_from(world, seed(value)).value == value
        assert world.admit(Record(value)) == "dead"
    assert {d.reason.split(":")[0] for d in world.dead.sent} == {"too-deep", "not-sealed",
                                                                "empty"}


def test_genuine_messages_are_applied_and_garbage_dead_lettered(tmp_path: Path) -> None:
    world = World(tmp_path)
    endings = [world.admit(Record(world.genuine_record(i), None, []))
               for i in range(len(world.genuine))]
    assert endings == ["applied"] * len(world.genuine)
    assert world.admit(Record(b"\xff not json", b"k", [("x", b"y")])) == "dead"
    assert world.admit(Record(world.genuine_record(0), None, [])) == "duplicate"
    assert [d.reason.split(":")[0] for d in world.dead.sent] == ["not-json"]


def test_the_target_fails_when_a_record_is_lost(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.inbox.dead_letter = lambda *given: None  # type: ignore[method-assign]
    with pytest.raises(AssertionError, match="dead-lettered once"):
        world.admit(Record(b"{", None, []))
