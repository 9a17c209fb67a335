"""`homeward serve` at start: a bad setting or an unreachable dependency is one line on
standard error and exit status 2, with nothing written (no data dir, no key dir, no key);
a SIGTERM or SIGINT at any moment, starting included, stops it with exit status 0 and
no traceback; what it logs are JSON lines naming the node."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness.support import free_port

SERVE = [sys.executable, "-m", "services.cli", "serve"]


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEWARD_")}
    return env | {"HOMEWARD_AGENCY": "XA-NRM", "HOMEWARD_DATA_DIR": str(tmp_path / "xa")} | {
        f"HOMEWARD_{k.upper()}": v for k, v in settings.items()}


def _refused(tmp_path: Path, **settings: str) -> str:
    done = subprocess.run([*SERVE, "--port", str(free_port())], env=_env(tmp_path, **settings),
                          capture_output=True, text=True, timeout=120)
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []  # no data dir, no key dir, no key
    return lines[0]


def test_a_schema_that_does_not_exist_is_one_line(tmp_path: Path, postgres_url: str) -> None:
    line = _refused(tmp_path, database_url=f"{postgres_url}?schema=missing_{os.getpid()}")
    assert line.startswith("homeward serve: HOMEWARD_DATABASE_URL: the schema 'missing_")


def test_a_store_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    line = _refused(tmp_path, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert line.startswith("homeward serve: HOMEWARD_DATABASE_URL: cannot connect")


def test_an_unreachable_broker_is_one_line(tmp_path: Path) -> None:
    line = _refused(tmp_path, kafka_bootstrap=f"127.0.0.1:{free_port()}")
    assert line.startswith("homeward serve: HOMEWARD_KAFKA_BOOTSTRAP: no broker answers at")


def test_a_named_directory_that_is_missing_or_unreadable_is_one_line(tmp_path: Path) -> None:
    line = _refused(tmp_path, directory=str(tmp_path / "directory.json"))
    assert "HOMEWARD_DIRECTORY: no file at" in line
    outside = tmp_path.parent / f"{tmp_path.name}-directory.json"
    outside.write_text('{"agencies": {"XB-NRM": {}}}')
    try:
        assert "is not a readable trust directory" in _refused(tmp_path, directory=str(outside))
    finally:
        outside.unlink()


def test_a_key_that_is_not_a_key_is_one_line(tmp_path: Path) -> None:
    keys = tmp_path.parent / f"{tmp_path.name}-keys"
    keys.mkdir()
    (keys / "signing-key.pem").write_text("not a key")
    try:
        line = _refused(tmp_path, key_dir=str(keys))
        assert "signing-key.pem does not hold an Ed25519 private key" in line
        assert [p.name for p in keys.iterdir()] == ["signing-key.pem"]
    finally:
        (keys / "signing-key.pem").unlink()
        keys.rmdir()


def test_a_bad_log_setting_is_one_line(tmp_path: Path) -> None:
    assert "HOMEWARD_LOG_FORMAT" in _refused(tmp_path, log_format="xml")


@pytest.mark.parametrize("after", [0.3, 1.0, 2.5, None])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_at_any_moment_is_clean(tmp_path: Path, after: float | None, sig: int) -> None:
    """Loading, checking, building, serving (None: once it answers): exit 0, no traceback,
    and once started, JSON lines only."""
    port = free_port()
    node = subprocess.Popen([*SERVE, "--port", str(port)], env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if after is None:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and node.poll() is None
                time.sleep(0.1)
    else:
        time.sleep(after)
    node.send_signal(sig)
    _, err = node.communicate(timeout=60)
    assert node.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = [json.loads(line) for line in err.splitlines()]
    assert all(line["node"] == f"XA-NRM@127.0.0.1:{port}" for line in lines), lines
    if after is None:
        events = [line.get("event") for line in lines]
        assert events[-1] == "node stopped" and "node started" in events, events
