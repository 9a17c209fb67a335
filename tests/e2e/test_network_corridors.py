"""`homeward run` with its three agencies: a case walked over the broker on each corridor,
and the demo's history as the monitor shows it (`--demo-cases`, spread over 18 months)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from services.network.demo_cases import repatriation
from services.network.members import CORRIDORS, MONITOR, Member, members
from tests.harness.support import free_port, free_ports

# Enough cases for the busiest corridor (four in six) to fill cells of 11 and more, the
# smallest the monitor publishes, at a year of month-ends.
DEMO_CASES = 180
T = TypeVar("T")


class Network:
    def __init__(self, data_dir: Path) -> None:
        self.base = free_ports(4)
        command = [sys.executable, "-m", "services.cli", "run", "--data-dir", str(data_dir),
                   "--base-port", str(self.base), "--broker-port", str(free_port()),
                   "--demo-cases", str(DEMO_CASES)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.members = {m.agency: m for m in members(data_dir.resolve(), self.base)}

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines[-60:])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def eventually(check: Callable[[], T | None], within: float, what: str, network: Network) -> T:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert network.process.poll() is None, network.output()
        try:
            found = check()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"not within {within:g} s: {what}\n{network.output()}")


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    running = Network(tmp_path_factory.mktemp("network"))
    try:
        eventually(lambda: any("Try: curl" in line for line in running.lines), 400,
                   "the network up", running)
        yield running
    finally:
        running.stop()


def auth(member: Member, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {member.token(role)}"}


@pytest.mark.kafka
def test_run_lists_every_agency_and_the_monitor_with_their_tokens(network: Network) -> None:
    said = "".join(network.lines)
    for member in network.members.values():
        assert f"{member.agency:8} {member.url}" in said, said
        assert httpx.get(f"{member.url}/healthz").status_code == 200
    assert network.members["XC-NRM"].port == network.base + 3
    assert said.count("caseworker  token:") == 3 and said.count("monitor     token:") == 1


@pytest.mark.kafka
def test_the_monitor_shows_the_demo_history_a_year_and_more_of_figures(network: Network) -> None:
    monitor = network.members[MONITOR]
    headers = auth(monitor, "monitor")

    def figures() -> dict[tuple[str, str], list[str]] | None:
        series = httpx.get(f"{monitor.url}/v1/monitor/series", headers=headers, timeout=30)
        assert series.status_code == 200, series.text
        months = {(s["corridor"]["referring"], s["corridor"]["receiving"]):
                  [m for m in s["months"] if any(s["by_status"][m].values())]
                  for s in series.json()}
        busiest = months.get(CORRIDORS[0], [])
        return months if len(months) == 3 and len(busiest) >= 12 and every_case() else None

    def every_case() -> bool:
        corridors = httpx.get(f"{monitor.url}/v1/monitor/corridors", headers=headers).json()
        return sum(c["cases"] for c in corridors) >= DEMO_CASES  # each with its milestones

    # Once the nodes run, the relays send the seeded messages again (the partners skip
    # them) and the milestones: the monitor has them all within minutes.
    months = eventually(figures, 400, "a year of figures on XA-NRM -> XB-NRM", network)
    busiest = months[CORRIDORS[0]]
    # Months with figures run back a year and more: the history is the steps' own.
    first, now = busiest[0], datetime.now(UTC).strftime("%Y-%m")
    assert (int(now[:4]) - int(first[:4])) * 12 + int(now[5:]) - int(first[5:]) >= 11, busiest
    corridors = httpx.get(f"{monitor.url}/v1/monitor/corridors", headers=headers).json()
    assert {(c["corridor"]["referring"], c["corridor"]["receiving"])
            for c in corridors} == set(CORRIDORS)


@pytest.mark.kafka
@pytest.mark.parametrize("corridor", CORRIDORS, ids=lambda c: "->".join(c))
def test_a_case_is_walked_over_the_broker_on_each_corridor(
    network: Network, corridor: tuple[str, str],
) -> None:
    referring, receiving = (network.members[a] for a in corridor)
    story = repatriation(datetime.now(UTC).date(), receiving=receiving.agency)
    opened = httpx.post(f"{referring.url}/v1/cases", json=story.opening,
                        headers=auth(referring, "caseworker"), timeout=10)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    by_side = {"referring": referring, "receiving": receiving}
    walked = story.moves[: [m.path for m in story.moves].index("acceptance") + 1]
    for move in walked:
        owner = by_side[move.side.value]
        roles = "supervisor" if move.supervisor else "caseworker"

        def recorded(move: Any = move, owner: Member = owner, role: str = roles) -> bool:
            # Until the partner's last fact has crossed, the owner refuses the step (the
            # case unknown there yet, or a rule still unmet): asked again.
            answer = httpx.post(f"{owner.url}/v1/cases/{case_id}/{move.path}", json=move.body,
                                headers=auth(owner, role), timeout=10)
            assert answer.status_code in (201, 200, 404, 409, 422), answer.text
            return answer.status_code < 300

        # The partners' inboxes may still be skipping the seeded messages sent again.
        eventually(recorded, 240, f"{move.path} recorded at {owner.agency}", network)

    def accepted_at(member: Member) -> bool:
        case = httpx.get(f"{member.url}/v1/cases/{case_id}", headers=auth(member, "caseworker"))
        return case.status_code == 200 and case.json()["status"] == "accepted"

    for member in (referring, receiving):
        eventually(lambda m=member: accepted_at(m), 60, f"accepted at {member.agency}", network)
