"""What the deployment examples and the node give a cluster: a token secret per node,
and topics created with the replication factor asked for."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml
from kafka import KafkaAdminClient

from services.bootstrap import build_node
from services.exchange import topics
from services.settings import load

INFRA = Path(__file__).resolve().parents[2] / "infra"
NODES = {"xa-nrm": "XA-NRM", "xb-nrm": "XB-NRM", "monitor": "monitor"}


def test_compose_gives_each_node_its_own_secret() -> None:
    compose: dict[str, Any] = yaml.safe_load((INFRA / "compose.yaml").read_text())
    secrets = {}
    for service, agency in NODES.items():
        env = compose["services"][service]["environment"]
        assert env["HOMEWARD_AGENCY"] == agency
        variable = re.fullmatch(r"\$\{(\w+):\?.*\}", env["HOMEWARD_JWT_SECRET"])
        assert variable, env["HOMEWARD_JWT_SECRET"]  # required, never a default
        secrets[service] = variable.group(1)
    assert len(set(secrets.values())) == len(NODES), secrets
    assert "HOMEWARD_JWT_SECRET" not in compose["x-node-env"]


def test_the_kubernetes_example_reads_the_secret_of_its_own_node() -> None:
    deployment: dict[str, Any] = yaml.safe_load((INFRA / "k8s" / "xa-nrm.yaml").read_text())
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HOMEWARD_AGENCY"]["value"] == "XA-NRM"
    for name in ("HOMEWARD_JWT_SECRET", "HOMEWARD_CIPHER_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "homeward-xa-nrm"
    assert env["HOMEWARD_KAFKA_REPLICATION"]["value"] == "3"


def test_topics_sh_defaults_to_three_copies(tmp_path: Path) -> None:
    # A stand-in for kafka-topics.sh that records its arguments.
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text('#!/bin/sh\necho "$@" >> "$0.calls"\n')
    fake.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "KAFKA_TOPICS": str(fake), "AGENCIES": "xa-nrm"}
    subprocess.run(["bash", str(INFRA / "topics.sh")], env=env, check=True)
    subprocess.run(["bash", str(INFRA / "topics.sh")],
                   env={**env, "HOMEWARD_KAFKA_REPLICATION": "1"}, check=True)
    calls = (tmp_path / "kafka-topics.sh.calls").read_text().splitlines()
    creates = [c for c in calls if "--create" in c]
    assert len(creates) == 6
    assert all("--replication-factor 3" in c for c in creates[:3])
    assert all("--replication-factor 1" in c for c in creates[3:])


def described(bootstrap: str, topic: str) -> dict[str, Any]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        [found] = admin.describe_topics([topic])
        return dict(found)
    finally:
        admin.close()


def replicas(bootstrap: str, topic: str) -> int:
    return len(described(bootstrap, topic)["partitions"][0]["replica_nodes"])


def partitions(bootstrap: str, topic: str) -> int:
    return len(described(bootstrap, topic)["partitions"])


@pytest.mark.kafka
def test_the_node_creates_its_topics_with_the_configured_replication(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    agency = f"XR-{uuid4().hex[:8].upper()}"
    monkeypatch.setenv("HOMEWARD_KAFKA_REPLICATION", "3")
    node = build_node(load(agency=agency, data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap))
    try:
        node.start()
        assert replicas(kafka_bootstrap, topics.inbox(agency)) == 3
        assert replicas(kafka_bootstrap, topics.deadletter(agency)) == 3
        # The replicas of a node share the inbox's partitions; dead letters need one.
        assert partitions(kafka_bootstrap, topics.inbox(agency)) == 3
        assert partitions(kafka_bootstrap, topics.deadletter(agency)) == 1
    finally:
        node.close()
    assert load(agency=agency).kafka_replication == 3
    monkeypatch.delenv("HOMEWARD_KAFKA_REPLICATION")
    assert load(agency=agency).kafka_replication == 1  # the local broker's default


@pytest.mark.kafka
def test_the_inbox_gets_the_partitions_the_setting_names(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    agency = f"XR-{uuid4().hex[:8].upper()}"
    monkeypatch.setenv("HOMEWARD_KAFKA_INBOX_PARTITIONS", "5")
    node = build_node(load(agency=agency, data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap))
    try:
        node.start()
        assert partitions(kafka_bootstrap, topics.inbox(agency)) == 5
    finally:
        node.close()
