"""A bounded soak of the whole embedded network (bench/soak, `make soak` runs it longer):
two-way traffic on 50 cases (each as far as the referral or the acceptance) for a minute
and a half while the broker is killed, an
agency node killed, a node paused, malformed records put on every inbox partition and on
the monitoring topic, and a signing key rotated; then every check of the soak holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak.run import Options, soak

pytestmark = pytest.mark.kafka


def test_the_network_under_faults_loses_nothing_and_stops_no_partition(tmp_path: Path) -> None:
    report = soak(Options(minutes=1.5, seed=20261207, cases=50, malformed=True,
                          data_dir=tmp_path / "soak", settle=60, stages=2))
    print(report.summary())
    assert set(report.faults) == {"broker-kill", "node-kill", "node-pause", "malformed",
                                  "key-rotation"}, report.summary()
    assert report.ok, report.summary()
