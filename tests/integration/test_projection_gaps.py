"""On PostgreSQL a notification id is taken when a row is inserted but seen only when
its transaction commits. A projection must not move past an id that a slower
transaction is still about to commit, and must not wait forever on an id that a
rolled-back transaction left unused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from events.steps import STEPS, OpenCase, open_case
from projections.board import StatusBoard
from services.application import Homeward, VersionMismatch
from services.backends.postgres_reads import PostgresReadStore, conninfo
from services.bootstrap import gap_barrier
from services.clock import FixedClock
from services.notification_log import NoLateCommits
from services.readside.runner import ProjectionRunner
from tests.harness.builders import ANNA, T0, opening
from tests.harness.stores import encrypted, homeward

pytestmark = pytest.mark.postgres


@pytest.fixture
def env(pg_env: dict[str, str]) -> dict[str, str]:
    return encrypted(pg_env)


@pytest.fixture
def store(env: dict[str, str]) -> Iterator[PostgresReadStore]:
    read = PostgresReadStore.from_env(env)
    yield read
    read.close()


def node(env: dict[str, str], **extra: str) -> Homeward:
    return homeward({**env, **extra}, FixedClock(T0))


def new_case(app: Homeward) -> str:
    return str(app.open_case(OpenCase.model_validate(opening()), ANNA).id)


class SlowWriter:
    """A transaction that inserts a case's first event and commits only when told."""

    def __init__(self, env: dict[str, str], app: Homeward, lock_table: bool) -> None:
        case = open_case(OpenCase.model_validate(opening()), ANNA, T0)
        self.case_id = str(case.id)
        stored = app.mapper.to_stored_event(case.collect_events()[0])
        table = sql.SQL("{}.{}").format(sql.Identifier(env["POSTGRES_SCHEMA"]),
                                        sql.Identifier(app.recorder.events_table_name))
        self.conn = psycopg.connect(conninfo(env))
        if lock_table:  # what eventsourcing's recorder does before it inserts
            self.conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
        row = self.conn.execute(
            sql.SQL("INSERT INTO {} (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s) RETURNING notification_id").format(table),
            (stored.originator_id, stored.originator_version, stored.topic, stored.state),
        ).fetchone()
        assert row is not None
        self.notification_id: int = row[0]

    def commit(self) -> None:
        self.conn.commit()
        self.conn.close()


def board_ids(store: PostgresReadStore) -> set[str]:
    return set(store.all("board"))


def test_a_slow_commit_is_not_skipped_when_a_later_id_commits_first(
    env: dict[str, str], store: PostgresReadStore,
) -> None:
    # Writers that do not lock the table (eventsourcing's insert function) can commit
    # id N+1 before id N: the race a reader must survive.
    unlocked = {"POSTGRES_ENABLE_DB_FUNCTIONS": "y"}
    first, second = node(env, **unlocked), node(env, **unlocked)
    early = new_case(first)
    runner = ProjectionRunner(first, store, StatusBoard(), gap_barrier(first))
    naive = ProjectionRunner(first, PostgresReadStore.from_env(env), _renamed("naive_board"),
                             barrier=NoLateCommits())
    assert runner.catch_up() == 1 and naive.catch_up() == 1

    slow = SlowWriter(env, first, lock_table=False)  # takes id N, holds its transaction
    fast = new_case(second)  # takes id N+1 and commits first
    assert first.recorder.max_notification_id() == slow.notification_id + 1

    assert runner.catch_up() == 0  # it waits at N instead of passing it
    assert store.position("board") == slow.notification_id - 1
    assert board_ids(store) == {early}
    naive.catch_up()  # a reader without the barrier moves past N ...

    slow.commit()
    assert runner.catch_up() == 2
    assert board_ids(store) == {early, slow.case_id, fast}
    naive.catch_up()
    assert set(naive.store.all("naive_board")) == {early, fast}  # ... and never sees it
    naive.store.close()


def test_the_recorder_lock_makes_a_later_writer_wait_for_the_slow_one(
    env: dict[str, str], store: PostgresReadStore,
) -> None:
    first, second = node(env), node(env)
    runner = ProjectionRunner(first, store, StatusBoard(), gap_barrier(first))
    slow = SlowWriter(env, first, lock_table=True)
    done: list[str] = []
    later = threading.Thread(target=lambda: done.append(new_case(second)))
    later.start()
    later.join(timeout=0.5)
    assert later.is_alive()  # blocked behind the slow transaction's table lock
    assert runner.catch_up() == 0 and board_ids(store) == set()
    slow.commit()
    later.join(timeout=10)
    assert runner.catch_up() == 2
    assert board_ids(store) == {slow.case_id, *done}


def test_an_id_left_by_a_rolled_back_save_does_not_stall_the_projection(
    env: dict[str, str], store: PostgresReadStore,
) -> None:
    first, second = node(env), node(env)
    case_id = new_case(first)
    stale = second.case(UUID(case_id))
    first.record(stale.id, "consent", _consent(), ANNA)
    stale.record(STEPS["asylum-claim"], {"lodged_on": str(T0.date())}, ANNA, T0)
    with pytest.raises(VersionMismatch):
        second._save(stale)  # its id is taken from the sequence, then rolled back
    later = new_case(first)
    ids = [n.id for n in first.recorder.select_notifications(start=1, limit=10)]
    assert ids[-1] - ids[0] + 1 > len(ids)  # there is a gap
    runner = ProjectionRunner(first, store, StatusBoard(), gap_barrier(first))
    assert runner.catch_up() == len(ids)
    assert board_ids(store) == {case_id, later}


def _consent() -> dict[str, Any]:
    return {"scopes": ["refer"], "language": "en", "interpreter": False, "given_by": "person"}


def _renamed(name: str) -> StatusBoard:
    board = StatusBoard()
    board.name = name  # type: ignore[misc]
    return board
