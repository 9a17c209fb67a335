"""Read models on real stores: built as events happen, or rebuilt from zero, they agree;
the board names what blocks each case and who owes it; clocks are read at query time."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from events.values import Status
from projections.board import BoardFilters
from services.backends.sqlite_reads import SqliteReadStore
from services.bootstrap import gap_barrier, read_models
from services.readside.queries import ReadModels
from services.readside.runner import ProjectionRunner
from services.readside.store import INDEXED, ReadStore, index_table
from tests.harness.builders import CANARY, T0, XA, XB
from tests.harness.referring_node import DEPARTED, HOME, READY, ReferringNode


@pytest.fixture
def referring(store_env: dict[str, str]) -> ReferringNode:
    return ReferringNode(store_env)


@pytest.fixture
def models(referring: ReferringNode) -> Iterator[ReadModels]:
    read = read_models(referring.app)
    yield read
    read.close()


@pytest.fixture
def two_cases(referring: ReferringNode, models: ReadModels) -> ReadModels:
    """The read models of two cases, one ready to leave and one home."""
    for paths in (READY, HOME):
        referring.run(referring.open(), paths)
    return models


def test_a_rebuilt_read_model_equals_the_one_built_event_by_event(
    referring: ReferringNode, models: ReadModels,
) -> None:
    stages = [READY[:2], READY, DEPARTED, HOME, [*HOME, "closure"], ["asylum-claim"]]
    cases = [referring.open(minor=i in (1, 5)) for i in range(len(stages))]
    for case_id, paths in zip(cases, stages, strict=True):
        for path in paths:
            referring.run(case_id, [path])
            models.refresh()  # event by event, as a live node would
    referring.open(kind="referral")
    models.refresh()
    before = {r.name: models.store.rows(r.name) for r in models.runners}
    assert len(before["board"]) == 7 and len(before["handoffs"]) == 6
    for runner in models.runners:
        rebuilt = runner.rebuild()
        assert rebuilt.events == referring.app.recorder.max_notification_id()
        assert models.store.rows(runner.name) == before[runner.name]
    assert all(models.store.position(r.name) == referring.app.recorder.max_notification_id()
               for r in models.runners)


def test_a_rebuild_pauses_the_cycle_collector_and_leaves_no_cycle_for_it(
    two_cases: ReadModels,
) -> None:
    models = two_cases
    runner, enabled = models.runners[0], []
    assert runner.rebuild(lambda n: enabled.append(gc.isenabled())).events > 0
    assert enabled and not any(enabled) and gc.isenabled()  # paused, then on again
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept in gc.garbage
    try:
        runner.rebuild()
        assert not gc.isenabled()  # left off where it was off
        gc.collect()
        # No event, state or document of the fold needed the collector (the database
        # driver's own few cycles, a batch's at most, do).
        ours = [o for o in gc.garbage if type(o).__module__.split(".")[0]
                in ("events", "projections", "services", "uuid", "datetime")]
        assert ours == [] and len(gc.garbage) < 200
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def database_indexes(store: ReadStore, name: str) -> set[str]:
    """The database indexes on a read model's index table, as its backend lists them."""
    table, conn = index_table(name), vars(store)["_conn"]
    if isinstance(store, SqliteReadStore):
        found = {row[1] for row in conn.execute(f"PRAGMA index_list({table})")}
    else:
        found = {row[0] for row in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
            (vars(store)["_schema"], table))}
    return {i for i in found if i.startswith(table + "_") and not i.endswith("_pkey")}


def test_a_rebuild_makes_the_index_tables_indexes_once_filled_or_stopped(
    two_cases: ReadModels,
) -> None:
    models = two_cases
    runner, during = models.runners[0], []
    every = {f"{index_table('board')}_{i}" for i in INDEXED["board"].indexes}
    assert runner.name == "board" and database_indexes(models.store, "board") == every
    runner.rebuild(lambda n: during.append(database_indexes(models.store, "board")))
    assert during[0] == set() and database_indexes(models.store, "board") == every

    def stop(n: int) -> None:
        raise RuntimeError("the rebuild stopped")
    with pytest.raises(RuntimeError):
        runner.rebuild(stop)
    assert database_indexes(models.store, "board") == every


def test_small_batches_and_a_second_worker_give_the_same_rows(referring: ReferringNode, models: ReadModels) -> None:
    case_id = referring.open()
    referring.run(case_id, DEPARTED)
    models.refresh()
    expected = models.store.rows("board")
    second = ProjectionRunner(referring.app, models.store, models.runners[0].projection,
                              gap_barrier(referring.app), batch_size=3)
    second.rebuild()
    assert models.store.rows("board") == expected
    assert models.runners[0].catch_up() == 0  # nothing applied twice


def test_the_board_filters_by_status_partner_and_overdue(referring: ReferringNode, models: ReadModels) -> None:
    referred, opened = referring.open(), referring.open()
    referring.run(referred, ["consent", "referral"])
    models.refresh()
    page = models.board(BoardFilters(status=Status.REFERRED), T0)
    assert [e.id for e in page.items] == [str(referred)] and page.total == 1
    assert models.board(BoardFilters(partner=XB), T0).total == 2
    assert models.board(BoardFilters(partner="XC-NRM"), T0).total == 0
    assert models.board(BoardFilters(overdue=True), T0).total == 0
    later = T0 + timedelta(days=2, minutes=1)  # the acknowledgement was due in 2 days
    late = models.board(BoardFilters(overdue=True), later)
    assert [e.id for e in late.items] == [str(referred)]
    assert [(c.name, c.owed_by) for c in late.items[0].overdue] == [("acknowledge referral", XB)]
    assert models.board(BoardFilters(overdue=False), later).items[0].id == str(opened)
    assert models.board(BoardFilters(limit=1, offset=1), T0).total == 2
    assert len(models.board(BoardFilters(limit=1, offset=1), T0).items) == 1


def test_an_overdue_arrival_shows_on_the_hand_off_tracker_when_the_clock_passes(
    referring: ReferringNode, models: ReadModels,
) -> None:
    travelling, home = referring.open(), referring.open()
    referring.run(travelling, DEPARTED)
    referring.run(home, [*DEPARTED, "arrival"])
    models.refresh()
    departed = T0 + timedelta(days=10)  # the bodies' departure; arrival expected 4 h later
    [person] = models.handoffs(departed + timedelta(hours=2))
    assert person.id == str(travelling) and person.partner == XB
    assert person.hours_in_transit == 2.0 and not person.overdue
    assert person.expected_arrival == (departed + timedelta(hours=4)).isoformat()
    [person] = models.handoffs(departed + timedelta(hours=4 + 12, minutes=30))
    assert person.overdue and person.hours_overdue == 0.5
    board = models.board(BoardFilters(overdue=True), departed + timedelta(hours=17))
    assert [(e.id, [c.name for c in e.overdue]) for e in board.items] == [
        (str(travelling), ["confirm arrival"])]
    referring.step(travelling, "arrival")
    models.refresh()
    assert models.handoffs(departed + timedelta(hours=17)) == []


def test_read_models_hold_no_names(referring: ReferringNode, models: ReadModels, store_env: dict[str, str]) -> None:
    case_id = referring.open()
    referring.run(case_id, ["consent", "referral", "acknowledgement", "acceptance"])
    referring.step(case_id, "risk-assessment", by=XA, safety_plan=f"stays with {CANARY}'s aunt")
    models.refresh()
    for runner in models.runners:
        assert CANARY not in repr(models.store.rows(runner.name))
    assert CANARY not in repr(models.board(BoardFilters(), T0))


def test_the_rebuild_command_rebuilds_each_read_model_and_reports_its_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from services.bootstrap import persistence_env
    from services.cli import main
    from services.settings import load

    monkeypatch.setenv("HOMEWARD_AGENCY", XA)
    monkeypatch.setenv("HOMEWARD_DATA_DIR", str(tmp_path))
    env = persistence_env(load())
    referring = ReferringNode(env)
    case_id = referring.open()
    referring.run(case_id, DEPARTED)
    events = referring.app.recorder.max_notification_id()
    assert main(["projections", "rebuild"]) == 0
    out = capsys.readouterr().out
    assert f"board: {events} events in" in out and f"handoffs: {events} events in" in out
    assert "events/s" in out
    models = read_models(referring.app)
    assert [e.id for e in models.board(BoardFilters(), T0).items] == [str(case_id)]
    assert main(["projections", "rebuild", "handoffs"]) == 0
    assert "board" not in capsys.readouterr().out
    models.close()
    monkeypatch.setenv("HOMEWARD_AGENCY", "monitor")
    assert main(["projections", "rebuild"]) == 2
