"""`homeward serve` starts one node over real HTTP, configured by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.harness.support import free_port


def test_serve_answers_over_http(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HOMEWARD_AGENCY": "XA-NRM", "HOMEWARD_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stderr
            time.sleep(0.2)
        token = subprocess.run(
            [sys.executable, "-m", "services.cli", "token", "--agency", "XA-NRM", "--role",
             "caseworker", "--sub", "ana"], env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()
        board = httpx.get(f"{base}/v1/cases", headers={"Authorization": f"Bearer {token}"})
        assert board.status_code == 200 and board.json()["total"] == 0
        assert httpx.get(f"{base}/v1/cases").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
