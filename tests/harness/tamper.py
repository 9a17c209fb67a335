"""What someone holding a node's store and its key could do to it behind the node's back:
rewrite an event and recompute every later hash, cut events off the end of a stream,
delete a whole case, record a partner's fact the partner never sent. On SQLite and on
PostgreSQL, through the store's own connection."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from uuid import UUID

from events.case import CaseEvent
from events.chain import GENESIS, digest
from services.application import Homeward

POSTGRES = "eventsourcing.postgres"


def _run(app: Homeward, sql: str, params: tuple[Any, ...]) -> int:
    recorder: Any = app.recorder
    table = recorder.events_table_name
    if app.env.get("PERSISTENCE_MODULE") == POSTGRES:
        schema = recorder.datastore.schema
        table = table if "." in table else f'"{schema}".{table}'
        sql = sql.replace("?", "%s")
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(sql.replace("{table}", table), params)
        raw = getattr(cursor, "sqlite_cursor", cursor)  # eventsourcing wraps SQLite's
        return int(raw.rowcount)


def _id(app: Homeward, case_id: UUID) -> Any:
    return case_id if app.env.get("PERSISTENCE_MODULE") == POSTGRES else case_id.hex


def rewrite(app: Homeward, case_id: UUID, version: int,
            change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Changes one event's data and recomputes its hash and every later one, so the chain
    verifies on its own."""
    events = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(case_id)]
    previous = events[version - 2].hash if version > 1 else GENESIS
    for event in events[version - 1:]:
        assert isinstance(event, CaseEvent)
        data = change(dict(event.data)) if event.originator_version == version else event.data
        forged = dataclasses.replace(event, data=data, prev_hash=previous)  # type: ignore[type-var]
        forged = dataclasses.replace(forged, hash=digest(forged.content()))  # type: ignore[type-var]
        state = app.mapper.to_stored_event(forged).state
        updated = _run(app, "UPDATE {table} SET state = ? WHERE originator_id = ? AND "
                       "originator_version = ?", (state, _id(app, case_id),
                                                  event.originator_version))
        assert updated == 1
        previous = forged.hash


def truncate(app: Homeward, case_id: UUID, keep: int) -> None:
    """Deletes every event of the case after version `keep`."""
    deleted = _run(app, "DELETE FROM {table} WHERE originator_id = ? AND originator_version > ?",
                   (_id(app, case_id), keep))
    assert deleted > 0


def delete_case(app: Homeward, case_id: UUID) -> None:
    deleted = _run(app, "DELETE FROM {table} WHERE originator_id = ?", (_id(app, case_id),))
    assert deleted > 0


def replace_event(app: Homeward, case_id: UUID, event: CaseEvent) -> None:
    """Stores `event` in place of the stored one of its version."""
    state = app.mapper.to_stored_event(event).state
    updated = _run(app, "UPDATE {table} SET state = ? WHERE originator_id = ? AND "
                   "originator_version = ?", (state, _id(app, case_id), event.originator_version))
    assert updated == 1
