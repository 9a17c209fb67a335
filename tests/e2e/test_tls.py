"""A whole repatriation between two nodes built as `homeward serve` builds them, and the
monitor, over TLS: the local broker is reachable only through TLS, with a certificate from
a CA made here, and every client of every node reaches it through the HOMEWARD_KAFKA_*
settings. (The broker's own `--cert`/`--key` cannot be used together in tansu 0.6.0, so a
TLS terminator stands in front of it and is the address the broker advertises.)"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from services.backends.broker import LocalBroker
from services.bootstrap import build_monitor
from services.exchange.directory import load as load_directory
from services.exchange.directory import save
from services.network.demo_cases import repatriation
from services.settings import load, secrets_dir
from services.signing import load_or_create_sealing
from tests.harness.certificates import make_tls
from tests.harness.http_nodes import kafka_pair, play
from tests.harness.support import free_port
from tests.harness.tls_terminator import TlsTerminator

pytestmark = pytest.mark.kafka


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca, cert, key = make_tls(tmp_path)
    client = {"security_protocol": "SSL", "ssl_cafile": str(ca)}
    port = free_port()
    with TlsTerminator(cert, key, backend_port=port) as tls, LocalBroker(
        port, tmp_path / "broker", advertised_port=tls.port, client=client,
    ) as broker:
        yield broker.bootstrap, ca


def test_a_plaintext_client_does_not_reach_the_tls_broker(tls_broker: tuple[str, Path]) -> None:
    bootstrap, _ = tls_broker
    with pytest.raises(KafkaError):
        KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000,
                         api_version_auto_timeout_ms=2000).describe_cluster()


def test_a_whole_repatriation_and_its_milestones_cross_over_tls(
    tmp_path: Path, tls_broker: tuple[str, Path]
) -> None:
    bootstrap, ca = tls_broker
    tls = {"kafka_security_protocol": "SSL", "kafka_ca_file": ca}
    xa, xb = (f"{p}-{uuid.uuid4().hex[:6].upper()}" for p in ("XA", "XB"))
    monitor_settings = load(agency="monitor", data_dir=tmp_path / "monitor",
                            kafka_bootstrap=bootstrap, directory=tmp_path / "directory.json",
                            **tls)
    monitor_key = load_or_create_sealing(secrets_dir(monitor_settings), "monitor")
    save(tmp_path / "directory.json", load_directory(tmp_path / "directory.json")
         .with_monitor(monitor_key))
    nodes = kafka_pair(tmp_path, bootstrap, xa, xb, **tls)
    monitor = build_monitor(monitor_settings).start()
    try:
        story = repatriation(nodes.clock.now().date(), receiving=xb)
        case_id = nodes.xa.post("/v1/cases", story.opening).json()["id"]
        play(nodes, case_id, story.moves)  # each move waits until the partner has it

        at_xb = nodes.xb.timeline(case_id)
        from_xa = [e["type"] for e in at_xb if e["message_id"]]
        assert from_xa[0] == "CaseOpened" and "ArrivalConfirmed" in [
            e["type"] for e in nodes.xa.timeline(case_id) if e["message_id"]]
        assert nodes.xb.state(case_id)["person"]["family_name"] == "Okafor"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not monitor.view.store.all("monitor"):
            time.sleep(0.2)
        [doc] = monitor.view.store.all("monitor").values()
        assert "arrival-confirmed" in doc["reached"]
    finally:
        monitor.close()
        nodes.close()
