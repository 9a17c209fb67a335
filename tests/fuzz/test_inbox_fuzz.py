"""A bounded run of the inbox fuzz target (atheris, coverage-guided) in the suite, and
proof that the target's checks can fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inbox_target import Record, World

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNS = 3000  # about five seconds


def test_a_bounded_atheris_run_finds_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, (ROOT, ROOT / "tests", HERE)))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fuzz" / "fuzz_inbox.py"), f"-runs={RUNS}",
         "-seed=1", f"-artifact_prefix={tmp_path}/"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Done {RUNS} runs" in done.stderr
    assert not list(tmp_path.glob("crash-*"))


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
    world.inbox.dead_letter = lambda record, reason: None  # type: ignore[method-assign]
    with pytest.raises(AssertionError, match="dead-lettered once"):
        world.admit(Record(b"{", None, []))
