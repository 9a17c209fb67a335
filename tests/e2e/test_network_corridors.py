"""`homeward run` with its three agencies: a case walked over the broker on each corridor,
and the demo's history as the monitor shows it (`--demo-cases`, spread over 18 months)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.network.demo_cases import repatriation
from services.network.members import CORRIDORS, MONITOR, Member, members
from tests.harness.homeward_run import HomewardRun

# Enough cases for the busiest corridor (four in six) to fill cells of 11 and more, the
# smallest the monitor publishes, at a year of month-ends.
DEMO_CASES = 180
# The seeding of the history, and the relays sending it again once the nodes run, take
# minutes on a busy machine: the network's start counts towards the first test's time.
pytestmark = pytest.mark.timeout(900)


class Network(HomewardRun):
    """`homeward run` with its demo history, and the members it serves."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, "--demo-cases", str(DEMO_CASES))
        self.members = {m.agency: m for m in members(data_dir.resolve(), self.base)}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    running = Network(tmp_path_factory.mktemp("network"))
    try:
        running.eventually(lambda: running.said("Try: curl"), 400, "the network up")
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
    months = network.eventually(figures, 400, "a year of figures on XA-NRM -> XB-NRM")
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

        # Nothing seeded is sent the partners again: a step crosses in seconds.
        network.eventually(recorded, 60, f"{move.path} recorded at {owner.agency}")

    def accepted_at(member: Member) -> bool:
        case = httpx.get(f"{member.url}/v1/cases/{case_id}", headers=auth(member, "caseworker"))
        return case.status_code == 200 and case.json()["status"] == "accepted"

    for member in (referring, receiving):
        network.eventually(lambda m=member: accepted_at(m), 60, f"accepted at {member.agency}")
