"""What the deployment examples and the node give a cluster: a token secret per node,
topics created with the replication factor and partitions asked for, and two replicas of
each agency node (compose and Kubernetes) that agree with the settings the node reads."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml
from fastapi.testclient import TestClient
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from services.api.app import create_app
from services.api.http.metrics import loopback
from services.bootstrap import build_node
from services.exchange import topics
from services.exchange.kafka_settings import ConsumerGroupSettings
from services.settings import Settings, load
from services.signing import KEY_FILE, SEALING_KEY_FILE

INFRA = Path(__file__).resolve().parents[2] / "infra"
NODES = {"xa-nrm": "XA-NRM", "xb-nrm": "XB-NRM", "monitor": "monitor"}
COMPOSE_FILES = ["compose.yaml", "compose.replicas.yaml"]
# Every HOMEWARD_* variable a node reads: its settings and its consumer group's timing.
KNOWN = ({f"HOMEWARD_{name.upper()}" for name in Settings.model_fields}
         | {f"HOMEWARD_KAFKA_{name.upper()}" for name in ConsumerGroupSettings.model_fields})


def compose(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((INFRA / name).read_text())
    return loaded


def k8s(name: str) -> dict[str, dict[str, Any]]:
    """The objects of a manifest file, by kind."""
    return {doc["kind"]: doc for doc in yaml.safe_load_all((INFRA / "k8s" / name).read_text())
            if doc}


def unknown(names: set[str]) -> set[str]:
    return {n for n in names if n.startswith("HOMEWARD_") and n not in KNOWN}


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_gives_each_node_its_own_secret(name: str) -> None:
    loaded = compose(name)
    secrets: dict[str, set[str]] = {}
    for service in loaded["services"].values():
        env = service.get("environment", {})
        if "HOMEWARD_AGENCY" not in env:
            continue
        variable = re.fullmatch(r"\$\{(\w+):\?.*\}", env["HOMEWARD_JWT_SECRET"])
        assert variable, env["HOMEWARD_JWT_SECRET"]  # required, never a default
        secrets.setdefault(env["HOMEWARD_AGENCY"], set()).add(variable.group(1))
    assert set(secrets) == set(NODES.values())
    # One secret per node (its replicas share it), never one for two nodes.
    assert all(len(names) == 1 for names in secrets.values()), secrets
    assert len(set.union(*secrets.values())) == len(NODES), secrets
    assert "HOMEWARD_JWT_SECRET" not in loaded["x-node-env"]


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_sets_only_variables_a_node_reads(name: str) -> None:
    names = {variable for service in compose(name)["services"].values()
             for variable in service.get("environment", {})}
    assert {"HOMEWARD_AGENCY", "HOMEWARD_DATABASE_URL"} <= names
    assert unknown(names) == set()
    assert unknown({"HOMEWARD_KAFKA_PARTITIONS"}) == {"HOMEWARD_KAFKA_PARTITIONS"}  # a typo


def replicas_by_agency(loaded: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for name, service in loaded["services"].items():
        agency = service.get("environment", {}).get("HOMEWARD_AGENCY")
        if agency:
            found.setdefault(agency, []).append({"name": name, **service})
    return found


def port_of(service: dict[str, Any]) -> str:
    command: list[str] = service["command"]
    return command[command.index("--port") + 1]


def test_compose_runs_two_replicas_of_each_agency_node_on_one_store() -> None:
    loaded = compose("compose.replicas.yaml")
    nodes = replicas_by_agency(loaded)
    assert {agency: len(r) for agency, r in nodes.items()} == {
        "XA-NRM": 2, "XB-NRM": 2, "monitor": 1}
    partitions = int(loaded["services"]["topics"]["environment"]
                     ["HOMEWARD_KAFKA_INBOX_PARTITIONS"])
    for agency in ("XA-NRM", "XB-NRM"):
        first, second = nodes[agency]
        # The same node: store, token secret, data and key volumes, settings.
        assert first["environment"] == second["environment"]
        assert first["volumes"] == second["volumes"]
        assert int(first["environment"]["HOMEWARD_KAFKA_INBOX_PARTITIONS"]) == partitions >= 2
        # The second replica starts once the first has made the keys and tables.
        assert second["depends_on"][first["name"]] == {"condition": "service_healthy"}
        # Each answers on its own port and is checked on its own /readyz.
        assert port_of(first) != port_of(second)
        for replica in (first, second):
            assert replica["ports"] == [f"{port_of(replica)}:{port_of(replica)}"]
            check = " ".join(replica["healthcheck"]["test"])
            assert f"http://127.0.0.1:{port_of(replica)}/readyz" in check, check


def test_the_kubernetes_example_reads_the_secret_of_its_own_node() -> None:
    deployment = k8s("xa-nrm.yaml")["Deployment"]
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["HOMEWARD_AGENCY"]["value"] == "XA-NRM"
    for name in ("HOMEWARD_JWT_SECRET", "HOMEWARD_CIPHER_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "homeward-xa-nrm"
    assert env["HOMEWARD_KAFKA_REPLICATION"]["value"] == "3"


def listens_beyond_loopback(command: list[str]) -> bool:
    host = command[command.index("--host") + 1] if "--host" in command else "127.0.0.1"
    return not loopback(host)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_nodes_serve_metrics_only_to_the_token_holder(name: str) -> None:
    nodes = [s for s in compose(name)["services"].values()
             if "HOMEWARD_AGENCY" in s.get("environment", {})]
    assert nodes and all(listens_beyond_loopback(s["command"]) for s in nodes)
    for service in nodes:
        env = service["environment"]
        assert "HOMEWARD_METRICS_ADDR" not in env  # /metrics stays on the published port...
        token = env["HOMEWARD_METRICS_TOKEN"]  # ...behind a token the operator must give
        assert re.fullmatch(r"\$\{\w+:\?.*\}", token), token


def test_the_kubernetes_node_serves_metrics_apart_from_its_service() -> None:
    objects = k8s("xa-nrm.yaml")
    [container] = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert listens_beyond_loopback(container["command"])
    port = int(env["HOMEWARD_METRICS_ADDR"]["value"].rpartition(":")[2])
    [metrics] = [p for p in container["ports"] if p["containerPort"] == port]
    published = {p["targetPort"] for p in objects["Service"]["spec"]["ports"]}
    assert metrics["name"] not in published and port not in published


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


def test_topics_sh_gives_the_inbox_the_partitions_the_node_reads(tmp_path: Path) -> None:
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text('#!/bin/sh\necho "$@" >> "$0.calls"\n')
    fake.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "KAFKA_TOPICS": str(fake), "AGENCIES": "xa-nrm",
           "HOMEWARD_KAFKA_INBOX_PARTITIONS": "5"}
    subprocess.run(["bash", str(INFRA / "topics.sh")], env=env, check=True)
    creates = {c.split("--topic ")[1].split()[0]: c.split("--partitions ")[1].split()[0]
               for c in (tmp_path / "kafka-topics.sh.calls").read_text().splitlines()
               if "--create" in c}
    assert creates == {"homeward.inbox.xa-nrm": "5", "homeward.deadletter.xa-nrm": "3",
                       "homeward.monitoring": "3"}


@contextmanager
def admin_of(bootstrap: str) -> Iterator[KafkaAdminClient]:
    """The broker's admin client, closed after."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        yield admin
    finally:
        admin.close()


def described(bootstrap: str, topic: str) -> dict[str, Any]:
    with admin_of(bootstrap) as admin:
        [found] = admin.describe_topics([topic])
        return dict(found)


def replicas(bootstrap: str, topic: str) -> int:
    return len(described(bootstrap, topic)["partitions"][0]["replica_nodes"])


def partitions(bootstrap: str, topic: str) -> int:
    return len(described(bootstrap, topic)["partitions"])


@contextmanager
def started(kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            **environment: str) -> Iterator[str]:
    """A node of an agency of its own started on the broker, so its topics are made (as the
    environment, with `environment` set, configures them): the agency."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    agency = f"XR-{uuid4().hex[:8].upper()}"
    node = build_node(load(agency=agency, data_dir=tmp_path / agency,
                           kafka_bootstrap=kafka_bootstrap))
    try:
        node.start()
        yield agency
    finally:
        node.close()


@pytest.mark.kafka
def test_the_node_creates_its_topics_with_the_configured_replication(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with started(kafka_bootstrap, tmp_path, monkeypatch,
                 HOMEWARD_KAFKA_REPLICATION="3") as agency:
        assert replicas(kafka_bootstrap, topics.inbox(agency)) == 3
        assert replicas(kafka_bootstrap, topics.deadletter(agency)) == 3
        # The replicas of a node share the inbox's partitions; dead letters need one.
        assert partitions(kafka_bootstrap, topics.inbox(agency)) == 3
        assert partitions(kafka_bootstrap, topics.deadletter(agency)) == 1
    assert load(agency=agency).kafka_replication == 3
    monkeypatch.delenv("HOMEWARD_KAFKA_REPLICATION")
    assert load(agency=agency).kafka_replication == 1  # the local broker's default


@pytest.mark.kafka
def test_the_inbox_gets_the_partitions_the_setting_names(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with started(kafka_bootstrap, tmp_path, monkeypatch,
                 HOMEWARD_KAFKA_INBOX_PARTITIONS="5") as agency:
        assert partitions(kafka_bootstrap, topics.inbox(agency)) == 5


def retention_ms(bootstrap: str, topic: str) -> str | None:
    """The topic's `retention.ms` as the broker describes it."""
    with admin_of(bootstrap) as admin:
        answer = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                        config_filter="all")
    found = next(iter(answer.values()))[topic]
    entry = found.get("retention.ms")
    return entry if entry is None or isinstance(entry, str) else entry["value"]


@pytest.mark.kafka
def test_the_node_creates_its_inbox_and_dead_letters_with_the_retention_it_reads(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The broker's copies of a case's messages go after these days: erasure reaches them."""
    day = 24 * 60 * 60 * 1000
    for given, (inbox_days, deadletter_days) in [({}, (7, 30)), ({"INBOX": "2",
                                                                  "DEADLETTER": "9"}, (2, 9))]:
        environment = {f"HOMEWARD_{name}_RETENTION_DAYS": days for name, days in given.items()}
        with started(kafka_bootstrap, tmp_path, monkeypatch, **environment) as agency:
            assert retention_ms(kafka_bootstrap, topics.inbox(agency)) == str(inbox_days * day)
            assert retention_ms(kafka_bootstrap, topics.deadletter(agency)) == \
                str(deadletter_days * day)


def test_topics_sh_gives_the_inbox_and_dead_letters_the_retention_the_node_reads(
    tmp_path: Path,
) -> None:
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text('#!/bin/sh\necho "$@" >> "$0.calls"\n')
    fake.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "KAFKA_TOPICS": str(fake), "AGENCIES": "xa-nrm",
           "HOMEWARD_DEADLETTER_RETENTION_DAYS": "10"}
    subprocess.run(["bash", str(INFRA / "topics.sh")], env=env, check=True)
    day = 24 * 60 * 60 * 1000
    creates = {c.split("--topic ")[1].split()[0]: re.findall(r"retention\.ms=(\d+)", c)
               for c in (tmp_path / "kafka-topics.sh.calls").read_text().splitlines()
               if "--create" in c}
    assert creates == {"homeward.inbox.xa-nrm": [str(7 * day)],
                       "homeward.deadletter.xa-nrm": [str(10 * day)],
                       "homeward.monitoring": []}
    for name in COMPOSE_FILES:
        topic_env = compose(name)["services"]["topics"]["environment"]
        node_env = compose(name)["x-node-env"]
        for key in ("HOMEWARD_INBOX_RETENTION_DAYS", "HOMEWARD_DEADLETTER_RETENTION_DAYS"):
            assert topic_env[key] == node_env[key], (name, key)


def test_kubernetes_runs_two_replicas_that_agree_with_the_node(tmp_path: Path) -> None:
    objects = k8s("xa-nrm.yaml")
    deployment, service = objects["Deployment"], objects["Service"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert unknown(set(env)) == set() and "HOMEWARD_AGENCY" in env
    # Two replicas, no more than the inbox's partitions.
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["replicas"] <= int(env["HOMEWARD_KAFKA_INBOX_PARTITIONS"]["value"])
    # The probes ask routes the node serves, on the port it listens on.
    node = build_node(load(agency="XA-NRM", data_dir=tmp_path / "node"))
    try:
        with TestClient(create_app(node)) as client:
            answers = {path: client.get(path).status_code for path in ("/readyz", "/healthz")}
    finally:
        node.close()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    command = container["command"]
    assert str(ports["http"]) == command[command.index("--port") + 1]
    probes = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    for probe, path in probes.items():
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}
        assert answers[path] == 200, answers
    metrics_port = env["HOMEWARD_METRICS_ADDR"]["value"].rpartition(":")[2]
    assert str(ports["metrics"]) == metrics_port
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    # Every secret the pod reads is a key of the node's own Secret.
    secret = k8s("xa-nrm-secret.yaml")["Secret"]
    name, keys = secret["metadata"]["name"], set(secret["stringData"])
    refs = [e["valueFrom"]["secretKeyRef"] for e in env.values() if "valueFrom" in e]
    assert {r["name"] for r in refs} == {name}
    assert {r["key"] for r in refs} <= keys
    assert {"HOMEWARD_JWT_SECRET", "HOMEWARD_CIPHER_KEY", "HOMEWARD_DATABASE_URL"} <= {
        n for n, e in env.items() if "valueFrom" in e}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["keys"]["secret"]["secretName"] == name
    assert {i["key"] for i in volumes["keys"]["secret"]["items"]} <= keys
    # The key pair is where the node looks for it, the same in every replica: in the key
    # dir, apart from the data dir (a copy of /data carries no key).
    data_dir, key_dir = (Path(env[n]["value"]) for n in ("HOMEWARD_DATA_DIR", "HOMEWARD_KEY_DIR"))
    assert data_dir not in key_dir.parents and key_dir not in (data_dir, *data_dir.parents)
    mounted = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounted[str(key_dir)]["name"] == "keys"
    assert {i["path"] for i in volumes["keys"]["secret"]["items"]} == {KEY_FILE, SEALING_KEY_FILE}
    assert not any(Path(p).is_relative_to(data_dir) for p in mounted if Path(p) != data_dir)
    # The trust directory is in a mounted ConfigMap.
    directory = Path(env["HOMEWARD_DIRECTORY"]["value"])
    [holder] = [m for p, m in mounted.items() if directory.parent == Path(p)]
    assert "configMap" in volumes[holder["name"]]
