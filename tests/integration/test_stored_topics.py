"""The store's topic column says nothing about the person: the steps that never leave the
referring agency (asylum claims, legal proceedings) are stored under a neutral topic, and
rows stored under their old, telling topics still read. On SQLite and on PostgreSQL."""

from __future__ import annotations

from uuid import UUID

import pytest

from events.steps import OpenCase
from services import stored_topics
from services.application import Homeward
from services.clock import FixedClock
from tests.harness.builders import ANNA, T0, opening
from tests.harness.stores import homeward

TELLING = ("asylum", "legal", "proceeding", "witness")


def a_case_held_for_asylum(app: Homeward) -> UUID:
    case_id = app.open_case(OpenCase.model_validate(opening()), ANNA).id
    app.record(case_id, "asylum-claim", {"lodged_on": str(T0.date())}, ANNA)
    app.record(case_id, "legal-proceeding", {"reference": "CR-2026-1187", "role": "witness"},
               ANNA)
    app.record(case_id, "asylum-claim-closure", {"outcome": "withdrawn"}, ANNA)
    return case_id


def topics(app: Homeward, case_id: UUID) -> list[str]:
    """The topic column of the case's stored rows, as the store holds it."""
    return [stored.topic for stored in app.recorder.select_events(case_id)]


def steps_read(app: Homeward, case_id: UUID) -> list[str]:
    return [event.type for event in app.timeline(case_id)]


KEPT_HOME = ["AsylumClaimRecorded", "LegalProceedingLinked", "AsylumClaimClosed"]


def test_rows_of_steps_kept_home_name_nothing_in_their_topic(store_env: dict[str, str]) -> None:
    app = homeward(store_env, FixedClock(T0))
    case_id = a_case_held_for_asylum(app)

    stored = topics(app, case_id)
    assert not [t for t in stored for word in TELLING if word in t.lower()], stored
    assert stored.count("services.stored_topics:KeptHome") == 3
    # The shared events keep their own topics (the return's hold, which says only that).
    assert any(t.endswith(":ReturnHoldChanged") for t in stored)

    reread = homeward(store_env, FixedClock(T0))  # a fresh node on the same store
    assert [t for t in steps_read(reread, case_id) if t in KEPT_HOME] == KEPT_HOME
    assert reread.case(case_id).state.asylum_open is False
    assert reread.verify(case_id) == []


def test_rows_stored_under_the_old_topics_still_read(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as before:  # a node from before neutral topics
        before.setattr(stored_topics, "KEPT_HOME", frozenset())
        old = homeward(store_env, FixedClock(T0))
        case_id = a_case_held_for_asylum(old)
        assert any("asylum" in t.lower() for t in topics(old, case_id))

    app = homeward(store_env, FixedClock(T0))
    assert [t for t in steps_read(app, case_id) if t in KEPT_HOME] == KEPT_HOME
    assert app.case(case_id).state.asylum_open is False
    assert app.verify(case_id) == []
    # A step recorded now, on the same case, is stored under the neutral topic.
    rows = len(topics(app, case_id))
    app.record(case_id, "asylum-claim", {"lodged_on": str(T0.date())}, ANNA)
    new = topics(app, case_id)[rows:]
    assert "services.stored_topics:KeptHome" in new
    assert not [t for t in new for word in TELLING if word in t.lower()], new
    assert app.case(case_id).state.asylum_open is True
