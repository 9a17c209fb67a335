"""The application on real stores: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest

from events.rules import ConsentRequired, StepOwner
from events.steps import OpenCase
from events.values import Received
from services.application import CaseNotFound, Homeward, OutOfSequence, VersionMismatch
from services.clock import FixedClock
from tests.harness.builders import ANNA, BORIS, CANARY, REPATRIATION, T0, XA, Story, bodies, opening
from tests.harness.stores import homeward, sqlite_env


def node(env: dict[str, str]) -> Homeward:
    return homeward(env, FixedClock(T0))


def opened(app: Homeward) -> UUID:
    return app.open_case(OpenCase.model_validate(opening()), ANNA).id


def test_a_case_reloads_with_the_same_state_and_chain(store_env: dict[str, str]) -> None:
    app = node(store_env)
    case_id = opened(app)
    for path in ("consent", "referral"):
        app.record(case_id, path, bodies(T0)[path], ANNA)
    again = node(store_env).case(case_id)
    original = app.case(case_id)
    assert again.version == original.version == 3
    assert again.state == original.state
    assert again.last_hash == original.last_hash
    assert app.verify(case_id) == []
    assert [e.type for e in app.timeline(case_id)] == ["CaseOpened", "ConsentRecorded", "ReferralSent"]


def test_a_refused_step_leaves_the_stored_case_unchanged(store_env: dict[str, str]) -> None:
    app = node(store_env)
    case_id = opened(app)
    before = [e.hash for e in app.timeline(case_id)]
    with pytest.raises(ConsentRequired):
        app.record(case_id, "referral", {}, ANNA)
    with pytest.raises(StepOwner):
        app.record(case_id, "consent", bodies(T0)["consent"], BORIS)
    assert [e.hash for e in node(store_env).timeline(case_id)] == before


def test_a_stale_version_is_refused_and_no_update_is_lost(store_env: dict[str, str]) -> None:
    first, second = node(store_env), node(store_env)
    case_id = opened(first)
    stale = second.case(case_id)
    first.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    with pytest.raises(VersionMismatch):
        second.record(case_id, "asylum-claim", bodies(T0)["asylum-claim"], ANNA, stale.version)
    # Both writers loaded version 1; the second save must not overwrite the first.
    from events.steps import STEPS

    stale.record(STEPS["asylum-claim"], bodies(T0)["asylum-claim"], ANNA, T0)
    with pytest.raises(VersionMismatch):
        second._save(stale)
    assert [e.type for e in first.timeline(case_id)] == ["CaseOpened", "ConsentRecorded"]


def test_received_facts_are_recorded_once_and_in_order(store_env: dict[str, str]) -> None:
    story = Story()
    story.run(REPATRIATION[:2])
    xb = node(store_env)
    sent = [e for e in story.xb.pending_events]  # type: ignore[union-attr]
    for event in sent:
        assert event.received is not None
        received = Received(**event.received)
        kind = "case-opened" if event.type == "CaseOpened" else type_of(event.type)
        assert xb.receive(event.originator_id, kind, event.data, received) is not None
        assert xb.receive(event.originator_id, kind, event.data, received) is None  # redelivered
    case = xb.case(story.xa.id)
    assert case.version == len(sent)
    late = Received(XA, str(uuid4()), "f" * 64, sequence=len(sent) + 2)
    with pytest.raises(OutOfSequence):
        xb.receive(case.id, "consent-withdrawn", {"scopes": ["return"]}, late)
    with pytest.raises(CaseNotFound):
        xb.receive(uuid4(), "referral-sent", {}, Received(XA, str(uuid4()), "f" * 64, 1))


def type_of(event_type: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in event_type).lstrip("-")


def test_the_state_as_it_was_at_a_version_and_a_time(store_env: dict[str, str]) -> None:
    clock = FixedClock(T0)
    app = homeward(store_env, clock)
    case_id = opened(app)
    clock.advance(hours=1)
    app.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    assert app.case(case_id, version=1).state.consent == set()
    assert app.case_at(case_id, T0).version == 1
    assert app.case_at(case_id, clock.now()).version == 2


def test_the_family_name_never_rests_in_plain_text(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    env = sqlite_env(db)
    app = node(env)
    case_id = opened(app)
    app.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    assert app.case(case_id).state.person["family_name"] == CANARY  # type: ignore[index]
    del app
    files = [p for p in tmp_path.iterdir() if p.name.startswith("events.sqlite")]
    assert files
    for path in files:
        raw = path.read_bytes()
        assert CANARY.encode() not in raw and CANARY.encode("utf-16-le") not in raw


def test_the_case_a_command_saved_is_kept_and_another_writer_s_step_still_read(
        store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    app = node(store_env)
    case_id = opened(app)
    consented = app.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    assert app.repository.cache is not None
    kept = app.repository.cache.get(case_id)
    assert kept is not consented and kept.version == consented.version == 2
    assert kept.state == consented.state
    decoded: list[object] = []
    read = app.mapper.to_domain_event
    monkeypatch.setattr(app.mapper, "to_domain_event",
                        lambda stored: decoded.append(stored) or read(stored))
    assert app.case(case_id).version == 2 and decoded == []  # nothing read back
    other = node(store_env)  # another writer of the store: a replica
    other.record(case_id, "referral", bodies(T0)["referral"], ANNA)
    assert app.case(case_id).version == 3 and len(decoded) == 1
    with pytest.raises(StepOwner):
        app.record(case_id, "consent", bodies(T0)["consent"], BORIS)
    assert app.repository.cache.get(case_id).version == 3
    assert app.verify(case_id) == []


def test_a_step_starts_from_the_kept_case_and_is_judged_again_after_another_writer(
        store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    app = node(store_env)
    case_id = opened(app)
    asked: list[object] = []
    select = app.recorder.select_events
    monkeypatch.setattr(app.recorder, "select_events",
                        lambda *a, **k: asked.append(a) or select(*a, **k))
    other = node(store_env)  # another process on the store: a replica
    other.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    # Kept at version 1, without consent: refused there, judged again on the stored case.
    referred = app.record(case_id, "referral", bodies(T0)["referral"], ANNA)
    assert referred.version == 3 and asked
    asked.clear()
    again = app.record(case_id, "risk-assessment", bodies(T0)["risk-assessment"], ANNA)
    assert again.version == 4 and asked == []  # from the kept case: the store not asked
    other.record(case_id, "risk-assessment",
                 bodies(T0)["risk-assessment"], ANNA)  # version 5, unknown to `app`
    with pytest.raises(VersionMismatch):
        app.record(case_id, "risk-assessment", bodies(T0)["risk-assessment"], ANNA, 4)
    assert app.record(case_id, "risk-assessment", bodies(T0)["risk-assessment"], ANNA,
                      5).version == 6
    assert [e.originator_version for e in node(store_env).timeline(case_id)] == [1, 2, 3, 4,
                                                                                5, 6]
    assert app.verify(case_id) == []
