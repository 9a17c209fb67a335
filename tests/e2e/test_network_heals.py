"""`homeward run` heals: the broker killed while the receiving node is paused is brought
back, and within a minute of the node resuming the partner holds every fact and the
sender shows `delivered_at` for each (the broker's memory is lost; the relays re-send
what no receipt answered)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer

from services.exchange import topics
from services.network.demo_cases import repatriation
from services.network.members import members
from tests.harness.homeward_run import HomewardRun
from tests.harness.support import children_of


def process_of(root: int, *words: str) -> int:
    for pid in children_of(root):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if all(word in cmdline for word in words):
            return pid
    raise AssertionError(f"no process with {words}")


@pytest.mark.kafka
def test_the_network_brings_back_a_killed_broker_and_every_fact_is_delivered(
    tmp_path: Path,
) -> None:
    run = HomewardRun(tmp_path)
    xb_pid = None
    try:
        run.eventually(lambda: run.said("Try: curl"), 90, "the network up")
        xa, xb = members(tmp_path.resolve(), run.base)[:2]
        caseworker = {m.agency: {"Authorization": f"Bearer {m.token('caseworker')}"}
                      for m in (xa, xb)}
        story = repatriation(datetime.now(UTC).date(), receiving=xb.agency)
        opened = httpx.post(f"{xa.url}/v1/cases", json=story.opening, headers=caseworker[xa.agency])
        case_id = opened.json()["id"]
        moves = [m for m in story.moves if m.side.value == "referring"][:4]

        def record(path: str, body: dict[str, Any]) -> None:
            answer = httpx.post(f"{xa.url}/v1/cases/{case_id}/{path}", json=body,
                                headers=caseworker[xa.agency], timeout=10)
            assert answer.status_code < 300, answer.text

        for move in moves[:2]:  # consent, referral: the case crosses
            record(move.path, move.body)
        run.eventually(lambda: httpx.get(f"{xb.url}/v1/cases/{case_id}",
                                     headers=caseworker[xb.agency]).status_code == 200,
                   60, "the partner holds the case")

        xb_pid = process_of(run.process.pid, "serve", "--port", str(xb.port))
        os.kill(xb_pid, signal.SIGSTOP)  # the receiving node is paused
        for move in moves[2:]:
            record(move.path, move.body)
        time.sleep(1.0)  # on the broker, not read by the paused node
        os.kill(process_of(run.process.pid, "--listener-url"), signal.SIGKILL)
        run.eventually(lambda: run.said("the broker is running again"), 30, "the broker brought back")
        os.kill(xb_pid, signal.SIGCONT)
        resumed = time.monotonic()

        def delivered() -> bool:
            sent = httpx.get(f"{xa.url}/v1/cases/{case_id}/timeline",
                             headers=caseworker[xa.agency]).json()["events"]
            crossed = [e for e in sent if e["recorded_by"] == xa.agency and e["delivered_at"]]
            got = httpx.get(f"{xb.url}/v1/cases/{case_id}/timeline",
                            headers=caseworker[xb.agency]).json()["events"]
            facts = [e for e in got if e["message_id"]]
            # opening, consent, referral, identity verification request, risk assessment
            return len(facts) == 5 and len(crossed) == 5

        run.eventually(delivered, 60, "every fact at the partner and receipted")
        assert time.monotonic() - resumed < 60
        assert run.said("the broker stopped; starting it again")
        # The topics were made again as at the start, not by a client's first message.
        inboxes = KafkaConsumer(bootstrap_servers=f"127.0.0.1:{run.broker_port}")
        try:
            for agency in (xa.agency, xb.agency):
                assert inboxes.partitions_for_topic(topics.inbox(agency)) == {0, 1, 2}
        finally:
            inboxes.close()
    finally:
        if xb_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(xb_pid, signal.SIGCONT)
        run.stop(timeout=90)
    assert run.process.returncode == 0, "".join(run.lines)
