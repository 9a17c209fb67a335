"""Homeward installs as a package: the wheel carries what a node reads at run time (the
contract's schemas, the pages and their words), so an install outside the checkout checks
the schemas, serves a node and runs the embedded network from any directory, with no
PYTHONPATH."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from services.contract.registry import SCHEMAS_DIR
from tests.harness.served import answering
from tests.harness.support import free_port, free_ports

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "README.md", "events", "projections", "services", "schemas"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the built wheel installed (no dependencies:
    it reads those from the checkout's venv through a .pth file, so nothing is downloaded
    but the build backend, which pip caches). Returns the venv's bin directory."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # what infra/Dockerfile copies into its build stage
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=IGNORED)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(dist), str(source)], check=True, cwd=tmp)
    wheel, = dist.glob("homeward-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    # A plain path line: the checkout's site-packages joins sys.path after the venv's own,
    # without running its .pth files (so the checkout's editable install stays out).
    (Path(purelib) / "homeward-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    shutil.rmtree(source)
    return venv / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith("HOMEWARD_")}
    return env | extra


def test_the_installed_package_runs_its_own_code(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [installed / "python", "-c",
         "import services.contract.registry as r; print(r.__file__); print(r.SCHEMAS_DIR)"],
        cwd=tmp_path, env=clean_env(), check=True, capture_output=True, text=True,
    ).stdout.split()
    venv = installed.parent
    assert all(Path(p).is_relative_to(venv) for p in where), where
    assert not any(Path(p).resolve().is_relative_to(ROOT) for p in where), where


def test_schemas_check_runs_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    checked = subprocess.run([installed / "homeward", "schemas", "check"], cwd=tmp_path,
                             env=clean_env(), capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    files = len(list(SCHEMAS_DIR.glob("*.schema.json")))
    assert f"{files} files" in checked.stdout, checked.stdout


def test_an_installed_node_serves_its_api_and_pages(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(HOMEWARD_AGENCY="XA-NRM", HOMEWARD_DATA_DIR=str(tmp_path / "xa-nrm"))
    server = subprocess.Popen([installed / "homeward", "serve", "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        answering(f"{base}/healthz", server, 30)
        board = httpx.get(f"{base}/ui/board?lang=ar")
        assert board.status_code == 200 and 'dir="rtl"' in board.text, board.text[:300]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_image_installs_the_wheel_built_from_these_sources() -> None:
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    _, build, image = dockerfile.split("\nFROM ")  # a build stage, then the image
    copied = {part.rstrip("/").removeprefix("./") for line in build.splitlines()
              if line.startswith("COPY ") for part in line.split()[1:-1]}
    assert copied == set(SOURCES), copied
    assert "pip wheel --no-deps" in build
    assert "pip install /dist/homeward-" in image and "PYTHONPATH" not in dockerfile
    assert "COPY services" not in image and "COPY schemas" not in image






def test_homeward_run_starts_the_network_from_the_wheel(installed: Path, tmp_path: Path
                                                        ) -> None:
    base = free_ports(4)
    network = subprocess.Popen(
        [installed / "homeward", "run", "--data-dir", "var", "--base-port", str(base),
         "--broker-port", str(free_port())],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        for port in (base, base + 1, base + 2, base + 3):
            answering(f"http://127.0.0.1:{port}/healthz", network, 60, every=0.3)
        time.sleep(1.0)  # it announces the network once every node answers
    finally:
        network.send_signal(signal.SIGINT)
        out, _ = network.communicate(timeout=60)
    assert network.returncode == 0, out
    assert "Homeward is running" in out and (tmp_path / "var" / "xa-nrm").is_dir(), out
