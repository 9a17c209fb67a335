"""The demo's history: `homeward run --demo-cases N` seeds its cases over the corridors and
the past 18 months, each step recorded at its own time, in the stores and in the milestones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from events.event import CaseEvent
from services.bootstrap import application, sidecar
from services.contract.codec import is_exported, milestone
from services.network.history import SPAN, history, opened_at
from services.network.members import CORRIDORS, members, trust
from services.network.seed import seed, stage
from services.tables.deliveries import Deliveries

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_a_case_s_history_runs_forward_from_its_opening_the_journey_in_one_day() -> None:
    for i in range(12):
        story = history(i, 12, NOW, "XB-NRM", minor=i % 3 == 0)
        times = [story.opened_at] + [s.at for s in story.steps]
        assert times == sorted(times)
        at = {s.move.path: s.at for s in story.steps}
        assert at["departure"].date() == at["arrival"].date()
        assert story.steps[[s.move.path for s in story.steps].index("departure")].move.body[
            "departed_at"] <= at["departure"].isoformat()
        arrival = at["arrival"]
        assert timedelta(days=80) <= at["follow-up"] - arrival <= timedelta(days=100)
        assert timedelta(days=14) < at["departure"] - story.opened_at < timedelta(days=120)


def test_the_cases_open_evenly_over_the_past_eighteen_months() -> None:
    opened = [opened_at(i, 36, NOW) for i in range(36)]
    assert opened == sorted(opened) and max(opened) < NOW
    assert NOW - opened[0] >= SPAN - timedelta(days=1)
    assert len({at.strftime("%Y-%m") for at in opened}) >= 18


def test_seeding_records_each_step_at_its_own_time_on_every_corridor(tmp_path: Path) -> None:
    nodes = members(tmp_path, 18001)
    agencies = nodes[:3]
    seeded = seed(agencies, 12, trust(tmp_path, nodes), show=False, now=NOW)
    assert seeded.cases == 12
    recorded: dict[str, list[datetime]] = {}  # case id: its own events' times, at its owner
    corridors, milestones, receipted = set(), [], 0
    for member in agencies:
        app = application(member.settings())
        tables = sidecar(member.settings())
        deliveries = Deliveries(tables)
        try:
            for case_id in app.case_ids():
                events = app.timeline(case_id)
                case = None
                for event in events:
                    case = event.mutate(case)
                    assert event.timestamp <= NOW
                    if isinstance(event, CaseEvent) and event.recorded_by == member.agency:
                        recorded.setdefault(str(case_id), []).append(event.timestamp)
                        if is_exported(event) and (m := milestone(case, event)) is not None:
                            milestones.append((m["occurred_at"], event.timestamp))
                assert case is not None
                corridors.add((case.state.referring, case.state.receiving))
                # What crossed in the seeding is kept as sent and receipted, with the hash
                # the partner recorded: once the nodes run, nothing waits for a receipt.
                sent = deliveries.delivered(case_id)
                own = [e.originator_version for e in events if e.recorded_by == member.agency
                       and is_exported(e)]
                assert set(own) <= set(sent) and all(sent.values()), (own, sent)
                receipted += len(own)
            assert deliveries.pending() == 0
        finally:
            app.close()
            tables.close()
    assert corridors == set(CORRIDORS) and receipted > 12
    # The milestones the monitor gets carry the step's time.
    assert milestones and all(at == when.isoformat() for at, when in milestones)
    # Every step of every case at the time its history gives it: the openings and steps
    # of case i, on the corridor and to the stage it was given.
    expected = []
    for i in range(12):
        story = history(i, 12, NOW, "XB-NRM", minor=i % 3 == 0)
        steps = story.steps[: [s.move.path for s in story.steps].index(stage(i)) + 1]
        expected.append([story.opened_at, *(s.at for s in steps if s.at <= NOW)])
    found = sorted(recorded.values())
    assert {t for times in found for t in times} == {t for times in expected for t in times}
    months = {t.strftime("%Y-%m") for times in found for t in times}
    assert len(months) >= 12, months
