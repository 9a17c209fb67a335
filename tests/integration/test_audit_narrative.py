"""The HTML export reads as a narrative a court can follow: steps and fields in words,
dates written out, the partner's facts marked as received, the chain's anchors, a print
stylesheet; from a case two real nodes exchanged over the broker."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from services.cli import main
from tests.harness.builders import bodies
from tests.harness.exchange_nodes import wait_until
from tests.harness.http_nodes import START, kafka_pair, opening


def test_the_html_export_tells_the_case_in_words(
        tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> None:
    p = kafka_pair(tmp_path, kafka_bootstrap, "XA-NRM", "XB-NRM")
    try:
        case_id = p.xa.post("/v1/cases", opening()).json()["id"]
        for http, path in [(p.xa, "consent"), (p.xa, "referral"), (p.xb, "acknowledgement"),
                           (p.xb, "acceptance")]:
            p.clock.advance(hours=3)
            assert http.step(case_id, path, bodies(START)[path]).status_code == 200
            p.sync()
        # XA's 3 messages and its own stream at each of XB's 2 facts, XB's 2 messages and
        # XB's 3 receipts of XA's messages
        wait_until(lambda: len(p.xa.node.audit().anchors.of_case(case_id)) == 10, timeout=20)
        settings = p.xa.node.settings
        monkeypatch.setenv("HOMEWARD_AGENCY", settings.agency)
        monkeypatch.setenv("HOMEWARD_DATA_DIR", str(settings.home))
        monkeypatch.setenv("HOMEWARD_DIRECTORY", str(settings.directory))
        out = tmp_path / "record.html"
        assert main(["audit", "export", case_id, "--format", "html", "--output", str(out),
                     "--by", "inspector-7", "--purpose", "court order 12/2025"]) == 0
    finally:
        p.close()
    page = out.read_text()
    for words in ("Referral sent", "Referral acknowledged", "Consent scopes",
                  "Interpreter present", "received from XB-NRM", "3 March 2025, 12:00 (UTC+00:00)",
                  "Exported by</dt><dd>inspector-7", "court order 12/2025",
                  "Withheld: personal data", "The record is intact",
                  "5 checkpoint(s) XA-NRM signed of this record match it",
                  "The checkpoints of XB-NRM held here verify", "Anchors",
                  "<td>XB-NRM</td><td>4</td>", "its receipt of message 3", "@media print"):
        assert words in page, words
    assert "Amina" not in page and "ReferralSent" not in page.split("<h2>The chain")[0]
    shots = os.environ.get("HOMEWARD_SCREENSHOTS")
    if shots:
        shutil.copy(out, Path(shots) / "audit-export.html")
