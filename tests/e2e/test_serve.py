"""`homeward serve` starts one node over real HTTP, configured by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.harness.served import answering
from tests.harness.support import free_port


@contextmanager
def served(data_dir: Path) -> Iterator[tuple[str, str]]:
    """`homeward serve` for XA-NRM on a free port, once ready: its URL and a caseworker token."""
    port = free_port()
    env = {**os.environ, "HOMEWARD_AGENCY": "XA-NRM", "HOMEWARD_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        answering(f"{base}/readyz", server, 30)
        token = subprocess.run(
            [sys.executable, "-m", "services.cli", "token", "--agency", "XA-NRM", "--role",
             "caseworker", "--sub", "ana"], env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_answers_over_http(tmp_path: Path) -> None:
    with served(tmp_path) as (base, token):
        board = httpx.get(f"{base}/v1/cases", headers={"Authorization": f"Bearer {token}"})
        assert board.status_code == 200 and board.json()["total"] == 0
        assert httpx.get(f"{base}/v1/cases").status_code == 401


def test_what_a_node_creates_is_private_from_its_creation(tmp_path: Path) -> None:
    """Directories 0700 and files 0600 (stores, their journals, keys, secrets), with the
    cipher key outside the data dir: nothing is chmod-ed afterwards, so a file is never
    readable by others, not even for a moment."""
    data_dir = tmp_path / "xa-nrm"
    with served(data_dir) as (base, token):
        opening = {"kind": "repatriation", "receiving_agency": "XB-NRM", "minor": False,
                   "person": {"given_names": "Ana", "family_name": "Okafor",
                              "date_of_birth": "2001-01-01", "sex": "female",
                              "nationality": "NG", "languages": ["en"]},
                   "identification": "formal", "reason": "Identified.", "urgency": "routine"}
        opened = httpx.post(f"{base}/v1/cases", json=opening, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"})
        assert opened.status_code == 201, opened.text

    keys = tmp_path / "xa-nrm.keys"
    assert (keys / "cipher.key").is_file() and not (data_dir / "cipher.key").exists()
    created = [data_dir, *data_dir.rglob("*"), keys, *keys.rglob("*")]
    assert any(p.name == "events.sqlite" for p in created)
    for path in created:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
