"""A case's chain as the audit reads it: from the stored rows, without event objects.

The chain's hashes cover an event's clear attributes and, for each personal field, its
commitment, never its value (events/event.py `sealed_content`). So an event whose row holds
no sealed personal data is checked from its decrypted, parsed row alone: no transcoding, no
event object, no case key looked up. Only an event with sealed personal data has it opened
(its case's key, AES-GCM: `PersonalDataMapper.open_sealed`), because its values are checked
against their commitments. A row holding anything this plain JSON reading does not expect
is read whole by the application's mapper, so nothing is checked on a reading the
application would not make.
"""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from events.audit import Link
from events.chain import ERASED
from events.event import CaseEvent, sealed_content
from services.application import Homeward
from services.erasure.mapper import SEALED, PersonalDataMapper, SealedOpener
from services.stored_topics import TOPIC, KeptHome

KEPT_HOME = f"{KeptHome.__module__}:{KeptHome.__qualname__}"
RowsOf = Callable[[Sequence[UUID]], Mapping[UUID, Sequence[StoredEvent]]]
TIMESTAMP = "timestamp"
ISO = "datetime_iso"


class StoredLink(NamedTuple):
    """An event's place in the chain, read from its row (a tuple: made at every row, it
    costs a fraction of a frozen dataclass's field-by-field set-up)."""

    case_id: str  # the case's id as its hash covers it, made once for the case's rows
    originator_version: int
    type: str
    at: str  # the ISO time the row holds, as `occurred_at` is hashed
    recorded_by: str
    actor: str
    data: Mapping[str, Any]
    received: Mapping[str, Any] | None
    prev_hash: str
    hash: str
    commitments: Mapping[str, str] | None
    salts: Mapping[str, str] | None
    approved_by: str | None = None  # a step approved at a caseworker's request

    def content(self) -> dict[str, Any]:
        return sealed_content(self.type, self.case_id, self.originator_version, self.at,
                              self.recorded_by, self.actor, self.data, self.received,
                              self.prev_hash, self.commitments, self.approved_by)


def _case_event_name(topic: str) -> str | None:
    """The class name of a case event's topic (what its hash covers as `type`), else None."""
    try:
        cls = resolve_topic(topic)
    except Exception:  # an unknown topic: the whole reading says what it is
        return None
    return cls.__name__ if isinstance(cls, type) and issubclass(cls, CaseEvent) else None


class ChainReader:
    """Reads stored rows of one store as links (`StoredLink`, or the whole `CaseEvent`)."""

    def __init__(self, app: Homeward, rows_of: RowsOf | None = None) -> None:
        self.app = app
        self.rows_of = rows_of  # several cases' rows in one query, where the store can
        self._names: dict[str, str | None] = {}
        mapper = cast(PersonalDataMapper, app.mapper)
        self._decrypt = mapper.decrypt if mapper.cipher else None
        self._decompress = mapper.compressor.decompress if mapper.compressor else None
        # The case id of the rows read last and its text: one case's rows, read together,
        # share one id object, so its text (what the hash covers) is made once a case.
        self._case: object = None
        self._case_text = ""

    def link(self, stored: StoredEvent, opener: SealedOpener | None = None) -> Link | None:
        """The row as a link of the chain; None for a row that is no case event. `opener`:
        its case's, when the case's rows are read together."""
        plain = self._decrypt(stored.state) if self._decrypt else stored.state
        if self._decompress is not None:
            plain = self._decompress(plain)
        try:
            state = orjson.loads(plain)
        except orjson.JSONDecodeError:  # what orjson refuses, the mapper's reading says
            return self._whole(stored)
        topic = state.pop(TOPIC, stored.topic) if stored.topic == KEPT_HOME else stored.topic
        if topic not in self._names:
            self._names[topic] = _case_event_name(topic)
        name, at = self._names[topic], state.get(TIMESTAMP)
        if (name is None or type(at) is not dict or at.get("_type_") != ISO
                or plain.count(b'"_type_"') != 1):
            return self._whole(stored)
        if stored.originator_id is not self._case:
            self._case = stored.originator_id
            self._case_text = str(stored.originator_id) if type(stored.originator_id) is UUID \
                else str(UUID(str(stored.originator_id)))
        data, salts, commitments = state["data"], state.get("salts"), state.get("commitments")
        if SEALED in state:  # its values are checked against their commitments
            if opener is None:
                mapper = cast(PersonalDataMapper, self.app.mapper)
                opener = SealedOpener(mapper.keys, UUID(self._case_text))
            personal = opener(stored.originator_version, b64decode(state[SEALED]))
            if personal is None:  # erased: the commitments stay, and are all the hash needs
                data = {**data, **{field: ERASED for field in commitments or {}}}
            else:
                data, salts = {**data, **personal["data"]}, personal["salts"]
        return StoredLink(self._case_text, stored.originator_version, name, at["_data_"],
                          state["recorded_by"], state["actor"], data, state["received"],
                          state["prev_hash"], state["hash"], commitments, salts,
                          state.get("approved_by"))

    def _whole(self, stored: StoredEvent) -> Link | None:
        event = self.app.mapper.to_domain_event(stored)
        return event if isinstance(event, CaseEvent) else None

    def chain(self, case_id: UUID) -> list[Link]:
        """The case's stream as links, in order; empty if the store holds no such case."""
        return self._links(case_id, self.app.recorder.select_events(case_id))

    def chains(self, case_ids: Sequence[UUID]) -> dict[UUID, list[Link]]:
        """`chain` of each case, their rows read together where the store can (`rows_of`)."""
        if self.rows_of is None:
            return {case_id: self.chain(case_id) for case_id in case_ids}
        rows = self.rows_of(case_ids)
        cast(PersonalDataMapper, self.app.mapper).keys.load(case_ids)  # in one query too
        return {case_id: self._links(case_id, rows.get(case_id, [])) for case_id in case_ids}

    def _links(self, case_id: UUID, rows: Sequence[StoredEvent]) -> list[Link]:
        opener = SealedOpener(cast(PersonalDataMapper, self.app.mapper).keys, case_id)
        return [link for row in rows if (link := self.link(row, opener)) is not None]
