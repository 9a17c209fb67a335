"""The deployment examples build a trust directory their nodes accept: in each compose
file, a `trust` service runs `homeward directory` over every node's keys into a shared
volume, and every node reads it (HOMEWARD_DIRECTORY), after it, with its own secret, its
own keys and the broker's address; the Kubernetes manifest's header builds the ConfigMap
it mounts the same way. The same commands, run here outside any container, make a
directory that lists every node's keys and the corridor, passes `check`, and that each
node's start checks accept."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.exchange.directory import DirectoryFile, load
from services.exchange.entries import problems
from services.settings import load as load_settings
from services.signing import load_or_create, load_or_create_sealing
from services.startup.checks import check_start

INFRA = Path(__file__).resolve().parents[2] / "infra"
COMPOSE_FILES = ["compose.yaml", "compose.replicas.yaml"]
PARTNER = {"XA-NRM": "XB-NRM", "XB-NRM": "XA-NRM"}


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Where each volume is mounted in the service: target -> (volume, read-only)."""
    found = {}
    for spec in service.get("volumes", []):
        volume, target, *mode = spec.split(":")
        found[target] = (volume, mode == ["ro"])
    return found


def nodes(loaded: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in loaded["services"].items()
            if "HOMEWARD_AGENCY" in s.get("environment", {})}


def run(line: str, cwd: Path, swap: dict[str, str]) -> None:
    for inside, outside in swap.items():
        line = line.replace(inside, outside)
    args = shlex.split(line)
    assert args[:2] == ["homeward", "directory"], line
    done = subprocess.run([sys.executable, "-m", "services.cli", *args[1:]], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, (line, done.stdout, done.stderr)


def accepted_by_each(directory: Path, keys: dict[str, Path], data: Path) -> None:
    """The directory lists each node's own keys and its corridor; each node's start
    checks pass on it; a partner can seal to each agency and verify what it signs."""
    listed = load(directory)
    assert problems(listed) == []
    for agency, key_dir in keys.items():
        if agency == "monitor":
            assert listed.sealing("monitor") is not None
            assert listed.sealing("monitor").sealing_key_id == load_or_create_sealing(  # type: ignore[union-attr]
                key_dir, "monitor").key_id
        else:
            own = load_or_create(key_dir, agency)
            assert listed.key(agency, own.key_id) is not None
            assert listed.sealing(agency).sealing_key_id == own.sealing.key_id  # type: ignore[union-attr]
            referring, receiving = sorted([agency, PARTNER[agency]])
            assert listed.corridor(referring, receiving) is not None
        settings = load_settings(agency=agency, data_dir=data / agency.lower(), key_dir=key_dir,
                                 directory=directory)
        check_start(settings)
        assert DirectoryFile(directory).current() == listed
    assert not (data).exists()  # the checks wrote nothing


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_compose_node_reads_the_directory_the_trust_service_builds(
        name: str, tmp_path: Path) -> None:
    loaded = yaml.safe_load((INFRA / name).read_text())
    services = loaded["services"]
    trust = services["trust"]
    made = mounts(trust)
    script = trust["command"][0]
    assert trust["restart"] == "no" and trust["entrypoint"] == ["sh", "-c"]
    assert "trust" in loaded["volumes"]
    inits = dict(re.findall(r"init --agency (\S+) --key-dir (\S+)", script))
    secrets = set()
    for service_name, service in nodes(loaded).items():
        env, held = service["environment"], mounts(service)
        agency = env["HOMEWARD_AGENCY"]
        # Its directory: the file the trust service wrote, on the volume it wrote it to.
        directory = Path(env["HOMEWARD_DIRECTORY"])
        assert held[str(directory.parent)] == (made[str(directory.parent)][0], True)
        assert f"--directory {directory}" in script
        # Its keys: the volume the trust service made them in, for this agency.
        assert held[env["HOMEWARD_KEY_DIR"]][0] == made[inits[agency]][0], service_name
        # It starts once the directory is built.
        assert service["depends_on"]["trust"] == {"condition": "service_completed_successfully"}
        # The broker's address: a service of the stack.
        host = env["HOMEWARD_KAFKA_BOOTSTRAP"].split(":")[0]
        assert host in services, host
        # Its own secret (its replicas share it).
        secrets.add((agency, env["HOMEWARD_JWT_SECRET"]))
    assert len({s for _, s in secrets}) == len({a for a, _ in secrets}) == 3
    assert f"corridor add XA-NRM XB-NRM --directory {directory}" in script
    assert f"check --directory {directory}" in script

    # The same commands, outside containers: /trust and /keys are folders here.
    swap = {"/trust/": f"{tmp_path}/trust/", "/keys/": f"{tmp_path}/keys/"}
    for line in script.splitlines():
        if line.startswith("homeward directory"):
            run(line, tmp_path, swap)
    keys = {agency: Path(path.replace("/keys/", f"{tmp_path}/keys/"))
            for agency, path in inits.items()}
    accepted_by_each(tmp_path / "trust" / "directory.json", keys, tmp_path / "data")


def test_the_kubernetes_header_builds_the_directory_its_node_mounts(tmp_path: Path) -> None:
    text = (INFRA / "k8s" / "xa-nrm.yaml").read_text()
    deployment = next(d for d in yaml.safe_load_all(text) if d and d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    lines = [line.removeprefix("#   ") for line in text.splitlines()
             if line.startswith("#   homeward directory")]
    assert [line.split()[2] for line in lines] == ["init", "add", "corridor", "check"]
    # The partner's entry, made as the header says XB-NRM does ("the same with its names").
    run(lines[0].replace("XA-NRM", "XB-NRM").replace("xa-nrm", "xb-nrm"), tmp_path, {})
    for line in lines:
        run(line, tmp_path, {})
    # The ConfigMap is made from that file and mounted where HOMEWARD_DIRECTORY says.
    assert "kubectl create configmap homeward-directory --from-file=directory.json" in text
    directory = Path(env["HOMEWARD_DIRECTORY"]["value"])
    [mount] = [m for m in pod["containers"][0]["volumeMounts"]
               if m["mountPath"] == str(directory.parent)]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == "homeward-directory" and directory.name == \
        "directory.json"
    # Its keys: the files the header made, put in the node's own Secret.
    for name in ("signing-key.pem", "sealing-key.pem"):
        assert f"--from-file={name}=xa-nrm-keys/{name}" in text
        assert (tmp_path / "xa-nrm-keys" / name).exists()
    assert env["HOMEWARD_KAFKA_BOOTSTRAP"]["value"]
    assert env["HOMEWARD_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "homeward-xa-nrm"
    accepted_by_each(tmp_path / "directory.json",
                     {"XA-NRM": tmp_path / "xa-nrm-keys", "XB-NRM": tmp_path / "xb-nrm-keys"},
                     tmp_path / "data")
