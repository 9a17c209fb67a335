"""The deliveries table on SQLite and PostgreSQL: what was sent a partner, when it is due
again, and its receipt, kept across a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.backends.postgres import PostgresBackend
from services.backends.sqlite import SQLiteTables
from services.tables import Result, Tables
from services.tables.deliveries import Deliveries, Receipt, Sent, backoff

AT = datetime(2026, 3, 3, 9, tzinfo=UTC)
FIRST = timedelta(seconds=10)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def tables(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Tables]:
    if request.param == "sqlite":
        return lambda: SQLiteTables(tmp_path / "api.sqlite")
    url = request.getfixturevalue("postgres_url")
    schema = request.getfixturevalue("pg_schema")
    return lambda: PostgresBackend.of_url(f"{url}?schema={schema}").tables()


def three_sent(db: Tables) -> tuple[Deliveries, UUID, list[Sent]]:
    """The deliveries on `db`, with versions 1 to 3 of one case sent to XB-NRM at AT."""
    deliveries, case_id = Deliveries(db), uuid4()
    sent = [Sent(str(uuid4()), case_id, version, "XB-NRM") for version in (1, 2, 3)]
    deliveries.sending(sent, AT, AT + FIRST)
    return deliveries, case_id, sent


def test_a_message_is_due_again_until_its_receipt_and_the_receipt_survives_a_restart(
    tables: Callable[[], Tables],
) -> None:
    deliveries, case_id, sent = three_sent(tables())
    deliveries.sending(sent[:1], AT + FIRST, AT + 2 * FIRST)  # met again: the row stays
    assert deliveries.due(AT + FIRST - timedelta(seconds=1)) == []
    assert [d.version for d in deliveries.due(AT + FIRST)] == [1, 2, 3]

    assert deliveries.receipted(sent[0].message_id, case_id, "XB-NRM", "a" * 64, AT)
    assert not deliveries.receipted(sent[1].message_id, case_id, "XC-NRM", "b" * 64, AT)
    assert not deliveries.receipted(sent[1].message_id, uuid4(), "XB-NRM", "b" * 64, AT)
    assert not deliveries.receipted(str(uuid4()), case_id, "XB-NRM", "b" * 64, AT)
    deliveries.resent(sent[1].message_id, AT + 5 * FIRST)

    again = Deliveries(tables())  # a restarted node
    assert [d.version for d in again.due(AT + FIRST)] == [3]
    assert [(d.version, d.attempts) for d in again.due(AT + 5 * FIRST)] == [(3, 1), (2, 2)]
    assert again.delivered(case_id) == {1: AT, 2: None, 3: None}
    assert again.receipted_among([m.message_id for m in sent] + [str(uuid4())]) == {
        sent[0].message_id}  # what a relay behind its position no longer sends
    assert again.undelivered(AT + timedelta(seconds=1)) == 2
    assert again.undelivered(AT) == 0  # none sent before the threshold
    # A receipt sent again changes nothing, and still finds its message.
    assert again.receipted(sent[0].message_id, case_id, "XB-NRM", "c" * 64, AT + FIRST)
    assert again.delivered(case_id)[1] == AT


class Counted:
    """Tables that count the statements that write."""

    def __init__(self, db: Tables) -> None:
        self.db, self.writes = db, 0

    def run(self, sql: str, params: Any = ()) -> Result:
        self.writes += not sql.lstrip().upper().startswith("SELECT")
        return self.db.run(sql, params)

    def table(self, name: str) -> str:
        return self.db.table(name)


def test_a_polls_receipts_are_recorded_in_one_statement_the_first_of_each_counting(
    tables: Callable[[], Tables],
) -> None:
    deliveries, case_id, sent = three_sent(tables())
    assert deliveries.receipted(sent[2].message_id, case_id, "XB-NRM", "c" * 64, AT)
    counted = Counted(tables())
    known = Deliveries(counted).receipted_all([  # type: ignore[arg-type]
        Receipt(sent[0].message_id, case_id, "XB-NRM", "a" * 64),
        Receipt(sent[0].message_id, case_id, "XB-NRM", "b" * 64),  # its receipt again
        Receipt(sent[1].message_id, case_id, "XC-NRM", "b" * 64),  # not its recipient
        Receipt(sent[1].message_id, uuid4(), "XB-NRM", "b" * 64),  # not its case
        Receipt(str(uuid4()), case_id, "XB-NRM", "b" * 64),  # never sent
        Receipt(sent[2].message_id, case_id, "XB-NRM", "d" * 64),  # receipted before
    ], AT + FIRST)
    assert known == {sent[0].message_id, sent[2].message_id}
    assert counted.writes == 1 + 3  # the receipts' one, after the table's own three
    assert deliveries.delivered(case_id) == {1: AT + FIRST, 2: None, 3: AT}
    db = tables()
    fact_hashes = db.run(f"SELECT message_id, fact_hash FROM {db.table('homeward_deliveries')}"
                         ).rows
    assert dict(fact_hashes) == {sent[0].message_id: "a" * 64, sent[1].message_id: None,
                                 sent[2].message_id: "c" * 64}
    assert Deliveries(tables()).receipted_all([], AT) == set()


def test_the_wait_for_a_receipt_doubles_up_to_the_longest() -> None:
    longest = timedelta(seconds=45)
    assert [backoff(n, FIRST, longest).total_seconds() for n in (1, 2, 3, 4, 5, 1000)] == [
        10, 20, 40, 45, 45, 45]
