"""The board and the hand-offs paged by the read store, on SQLite and PostgreSQL: every
filter, order and page answers what reading every document would, at any time (a
status that changes with the day included), and the database finds a page by its
indexes rather than by reading every row."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from events.casework import Assign
from events.values import Actor, Role, Status
from projections.board import (
    NEVER,
    NEVER_DAY,
    BoardFilters,
    BoardRow,
    Order,
    board_view,
    instant,
)
from projections.handoffs import HandoffFilters, HandoffOrder, HandoffRow, in_transit
from services.backends.postgres_reads import PostgresReadStore
from services.backends.sqlite_reads import SqliteReadStore
from services.bootstrap import read_models, read_store_for
from services.readside.queries import BOARD_ORDER, ReadModels
from services.readside.store import Query, ReadStore, Where, index_table, qualified
from tests.harness.builders import T0, XB
from tests.harness.referring_node import DEPARTED, HOME, READY, ReferringNode
from tests.harness.stores import sqlite_env
from tests.harness.support import fresh_schema

# The bodies' risk assessments run out 60 days after T0, the travel document after 90;
# the departure is 10 days after T0, the arrival expected 4 hours later, overdue 12 after.
TIMES = [T0, T0 + timedelta(days=10, hours=2), T0 + timedelta(days=10, hours=17),
         T0 + timedelta(days=61), T0 + timedelta(days=91), T0 + timedelta(days=400)]


@pytest.fixture
def referring(store_env: dict[str, str]) -> ReferringNode:
    return ReferringNode(store_env)


@pytest.fixture
def models(referring: ReferringNode) -> Iterator[ReadModels]:
    read = read_models(referring.app, clock=referring.clock)
    yield read
    read.close()


ASSIGNEES = ("anna", "pat", None)  # each case in turn: to Anna, to Pat, to no one
SUPERVISOR = Actor("XA-NRM", "sara", frozenset({Role.SUPERVISOR}))


def fill(referring: ReferringNode) -> None:
    stages: list[list[str]] = [
        [], READY[:2], READY[:4], READY, [*READY, "transport"], DEPARTED, DEPARTED,
        [*DEPARTED, "arrival"], HOME, [*HOME, "closure"], ["asylum-claim"]]
    for i, stage in enumerate(stages):
        case_id = referring.open(minor=i == 2, urgency="urgent" if i % 4 == 1 else "routine")
        referring.run(case_id, stage)
        assignee = ASSIGNEES[i % len(ASSIGNEES)]
        if assignee is not None:
            referring.app.assign(case_id, Assign(assigned_to=assignee), SUPERVISOR)
        referring.clock.advance(minutes=7)  # each case changed at its own time
    referring.open(kind="referral")


def test_every_filter_order_and_page_answers_what_reading_every_document_would(
    referring: ReferringNode, models: ReadModels,
) -> None:
    fill(referring)
    models.refresh()
    statuses: list[Status | None] = [None, Status.REFERRED, Status.READY, Status.ON_HOLD,
                                     Status.ACCEPTED, Status.IN_TRANSIT, Status.CLOSED]
    seen: set[str] = set()
    for now in TIMES:
        docs = list(models.store.all("board").values())
        for status, open_, overdue, sort in product(
                statuses, [None, True, False], [None, True, False], Order.ALL):
            filters = BoardFilters(status=status, overdue=overdue, open=open_, sort=sort,
                                   limit=4, offset=0)
            expected = board_view(docs, BoardFilters(
                status=status, overdue=overdue, open=open_, sort=sort, limit=100), now)
            pages = []
            for offset in range(0, max(expected.total, 1), 4):
                page = models.board(BoardFilters(**{**vars(filters), "offset": offset}), now)
                assert page.total == expected.total
                pages += page.items
            assert [e.id for e in pages] == [e.id for e in expected.items], (now, filters)
            assert pages == expected.items
            seen |= {e.status for e in pages}
        partner = models.board(BoardFilters(partner=XB, limit=100), now)
        assert partner.total == 12 and models.board(BoardFilters(partner="XC-NRM"), now).total == 0
        for assignee, overdue in product(["anna", "pat", "nobody"], [None, True]):
            expected = board_view(docs, BoardFilters(overdue=overdue, assigned_to=assignee,
                                                     limit=100), now)
            pages = []
            for offset in range(0, max(expected.total, 1), 2):
                page = models.board(BoardFilters(overdue=overdue, assigned_to=assignee,
                                                 limit=2, offset=offset), now)
                assert page.total == expected.total
                pages += page.items
            assert pages == expected.items and {e.assigned_to for e in pages} <= {assignee}
        assert models.board(BoardFilters(assigned_to="anna", limit=100), now).total == 4
    # The times chosen move cases through statuses the day alone decides.
    assert {"ready", "accepted", "on_hold", "scheduled", "in_transit", "closed"} <= seen


def test_the_hand_offs_page_answers_what_reading_every_document_would(
    referring: ReferringNode, models: ReadModels,
) -> None:
    fill(referring)
    models.refresh()
    for now in TIMES:
        everyone = in_transit(models.store.all("handoffs").values(), now)
        for overdue, sort in product([None, True, False], HandoffOrder.ALL):
            expected = [t for t in everyone if overdue is None or t.overdue is overdue]
            if sort == HandoffOrder.DEPARTED:
                expected.sort(key=lambda t: (instant(t.departed_at), t.id))
            for limit in (1, 2, 50):
                paged = []
                for offset in range(0, max(len(expected), 1), limit):
                    items, total = models.handoff_page(
                        HandoffFilters(overdue, None, limit, offset, sort), now)
                    assert total == len(expected)
                    paged += items
                assert paged == expected, (now, overdue, sort, limit)
    assert len(models.handoffs(TIMES[1])) == 2
    assert models.handoff_page(HandoffFilters(partner="XC-NRM"), TIMES[1]) == ([], 0)


def test_a_store_kept_before_the_index_is_indexed_when_opened(
    referring: ReferringNode, models: ReadModels,
) -> None:
    fill(referring)
    models.refresh()
    expected = models.board(BoardFilters(limit=100), T0)
    store: Any = models.store
    table = qualified("board", getattr(store, "_schema", None))
    store._conn.execute(f"DROP TABLE {table}")  # as a store written before
    store._known.clear()
    if hasattr(store._conn, "commit"):
        store._conn.commit()
    again = read_models(referring.app, store=models.store, clock=referring.clock)
    assert again.board(BoardFilters(limit=100), T0) == expected


def test_an_index_kept_before_a_column_was_added_is_made_again(
    referring: ReferringNode, models: ReadModels,
) -> None:
    fill(referring)
    models.refresh()
    expected = models.board(BoardFilters(assigned_to="pat", limit=100), T0)
    assert expected.total == 4
    store: Any = models.store
    table = qualified("board", getattr(store, "_schema", None))
    index = table.rpartition(".")[0] + "." if "." in table else ""
    store._conn.execute(f"DROP INDEX {index}{index_table('board')}_assigned")  # as kept before
    store._conn.execute(f"ALTER TABLE {table} DROP COLUMN assigned_to")
    store._known.clear()
    if hasattr(store._conn, "commit"):
        store._conn.commit()
    again = read_models(referring.app, store=models.store, clock=referring.clock)
    assert again.board(BoardFilters(assigned_to="pat", limit=100), T0) == expected


# -- the plans --------------------------------------------------------------------------

def seeded(store: ReadStore, cases: int, open_every: int) -> None:
    """`cases` rows straight into the index, one in `open_every` open (the rest closed)."""
    rows: dict[str, BoardRow | None] = {}
    for i in range(cases):
        is_open = i % open_every == 0
        rows[f"{i:08d}-0000-4000-8000-000000000000"] = BoardRow(
            version=3, status="referred" if is_open else "closed", open=is_open,
            status_from="2026-01-01", status_until=NEVER_DAY,
            partner="XB-NRM" if i % 2 else "XC-NRM", urgent=i % 97 == 0,
            updated_at=instant(T0 + timedelta(minutes=i)),
            overdue_at=instant(T0 + timedelta(days=1)) if is_open else NEVER,
            assigned_to=f"user-{i % 40}", approvals=int(i % 250 == 0))
    store.commit("board", {}, index=rows)
    handoffs: dict[str, HandoffRow | None] = {
        f"{i:08d}-0000-4000-8000-000000000000": HandoffRow(
            in_transit=i % 200 == 0, partner="XB-NRM",
            departed_at=instant(T0 + timedelta(minutes=i)) if i % 200 == 0 else NEVER,
            confirm_by=instant(T0 + timedelta(hours=i)) if i % 200 == 0 else NEVER)
        for i in range(cases)}
    store.commit("handoffs", {}, index=handoffs)
    analyse = getattr(store, "analyse", None)
    if analyse is not None:  # PostgreSQL plans from its statistics
        analyse("board")
        analyse("handoffs")


def board_queries(now: datetime) -> dict[str, Query]:
    at, today = instant(now), date(2026, 6, 1).isoformat()
    return {
        "board, urgent first": Query((), BOARD_ORDER[Order.URGENT], 50, 0),
        "board, open": Query((Where("open", "=", True),), BOARD_ORDER[Order.URGENT], 50, 0),
        "board, by status": Query((Where("status", "=", "referred"),),
                                  BOARD_ORDER[Order.URGENT], 50, 0),
        "board, by partner": Query((Where("partner", "=", "XB-NRM"),),
                                   BOARD_ORDER[Order.URGENT], 50, 0),
        "board, overdue": Query((Where("overdue_at", "<", at),), BOARD_ORDER[Order.OVERDUE],
                                50, 0),
        "board, recent": Query((), BOARD_ORDER[Order.RECENT], 50, 0),
        "board, statuses the day moved past": Query((Where("status_until", "<=", today),),
                                                    (), None, 0),
        "board, by assignee": Query((Where("assigned_to", "=", "user-7"),),
                                    BOARD_ORDER[Order.URGENT], 50, 0),
        "board, awaiting approval": Query((Where("approvals", ">", 0),), (
            ("approvals", True), ("updated_at", True), ("key", True)), None, 0),
    }


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def big_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReadStore]:
    if request.param == "sqlite":
        env = sqlite_env(tmp_path / "events.sqlite")
    else:
        env = dict(request.getfixturevalue("pg_env"))
    store = read_store_for(env)
    seeded(store, 5_000, 20)
    yield store
    store.close()


def test_a_page_is_found_by_an_index_not_by_reading_every_row(big_store: ReadStore) -> None:
    now = T0 + timedelta(days=2)
    handoffs = Query((Where("in_transit", "=", True),), (("confirm_by", False),), 50, 0)
    for what, query in {**board_queries(now), "hand-offs in transit": handoffs}.items():
        name = "handoffs" if what.startswith("hand") else "board"
        plan = big_store.plan(name, query)
        if isinstance(big_store, SqliteReadStore):
            assert f"INDEX {index_table(name)}_" in plan, (what, plan)
            assert "TEMP B-TREE FOR ORDER BY" not in plan, (what, plan)
        else:
            assert re.search(rf"(Index (Only )?Scan (Backward )?using|Bitmap Index Scan on) "
                             rf"{index_table(name)}_", plan), (what, plan)
            assert "Seq Scan" not in plan, (what, plan)
    rows, total = big_store.page("board", board_queries(now)["board, open"])
    assert total == 250 and len(rows) == 50


@pytest.mark.postgres
def test_the_index_lives_in_the_nodes_schema_whatever_its_name(postgres_url: str) -> None:
    import psycopg

    with fresh_schema(postgres_url, f"Board-{uuid.uuid4().hex[:8]}") as schema:
        store = PostgresReadStore(postgres_url, schema)
        seeded(store, 200, 20)
        rows, total = store.page("board", Query((Where("open", "=", True),),
                                                BOARD_ORDER[Order.URGENT], 5, 0))
        assert total == 10 and len(rows) == 5 and store.indexed("board")
        store.close()
        with psycopg.connect(postgres_url) as conn:
            found = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s "
                                 "AND tablename = 'projection_board_index'", (schema,)).fetchone()
        assert found == (1,)
