"""Crypto-shredding on real stores: the same tests on SQLite and on PostgreSQL.

Each case's personal fields are stored under a key of its own; erasing the case destroys
that key. Afterwards every personal field reads as "[erased]", even to a node that holds
its own key, and the hash chain still verifies over the commitments that stay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from events.chain import ERASED
from events.rules import Sequence, StepOwner
from events.steps import OpenCase
from events.values import Actor
from services.application import Homeward
from services.clock import FixedClock
from services.erasure.mapper import MissingCaseKey
from tests.harness.builders import ANNA, CANARY, SARA, T0, opening
from tests.harness.stores import homeward, sqlite_env

WORDS = (CANARY, "1994-03-12", "identified during a labour inspection", "gone with the canary")


def node(env: dict[str, str]) -> Homeward:
    return homeward(env, FixedClock(T0))


def a_case(app: Homeward) -> UUID:
    """A case whose opening names the person, with a consent, a referral carrying a note
    and a withdrawal whose reason never crosses: identity, protected and local-only text."""
    case_id = app.open_case(OpenCase.model_validate(opening()), ANNA).id
    app.record(case_id, "consent", {"scopes": ["refer", "share_identity", "return"],
                                    "language": "en", "interpreter": False,
                                    "given_by": "person"}, ANNA)
    app.record(case_id, "referral", {"note": "gone with the canary"}, ANNA)
    app.record(case_id, "consent-withdrawal", {"scopes": ["return"],
                                               "reason": f"{CANARY} wishes to stay"}, ANNA)
    return case_id


def everything_stored(app: Homeward, case_id: UUID) -> str:
    """Every stored event of the case as the node's own key opens it, whole."""
    states = [vars(app.mapper.to_domain_event(stored))
              for stored in app.recorder.select_events(case_id)]
    return json.dumps(states, default=str)


def test_after_erasure_every_personal_field_reads_erased_and_the_chain_still_verifies(
    store_env: dict[str, str],
) -> None:
    app = node(store_env)
    case_id = a_case(app)
    before = [e.hash for e in app.timeline(case_id)]
    assert app.timeline(case_id)[0].data["person"]["family_name"] == CANARY

    app.record(case_id, "erasure", {"reason": "subject-request"}, SARA)

    reread = node(store_env)  # a fresh process: nothing held in memory
    events = reread.timeline(case_id)
    assert [e.type for e in events][-1] == "CaseErased"
    assert events[-1].data == {"reason": "subject-request"}
    assert events[0].data["person"] == events[0].data["reason"] == ERASED
    assert events[2].data["note"] == ERASED and events[3].data["reason"] == ERASED
    assert events[0].data["receiving_agency"] == "XB-NRM"  # what is not personal stays
    assert [e.hash for e in events][:-1] == before
    assert reread.verify(case_id) == []
    assert reread.case(case_id).state.person is None
    assert reread.case(case_id).state.erased
    assert reread.keys.erased(case_id)


def test_with_the_nodes_own_key_the_store_holds_no_personal_data_once_erased(
    store_env: dict[str, str],
) -> None:
    app = node(store_env)
    case_id = a_case(app)
    readable = everything_stored(node(store_env), case_id)
    assert all(word in readable for word in WORDS)  # the check below can fail

    app.record(case_id, "erasure", {"reason": "retention-ended"}, SARA)

    left = everything_stored(node(store_env), case_id)
    assert not [word for word in WORDS if word in left]
    assert ERASED in left


def test_the_personal_fields_are_sealed_under_the_cases_key_not_only_the_nodes(
    store_env: dict[str, str],
) -> None:
    app = node(store_env)
    case_id = a_case(app)
    stored = app.recorder.select_events(case_id)[0]
    plain = app.mapper.cipher.decrypt(stored.state)  # what the node's key alone opens
    if app.mapper.compressor is not None:
        plain = app.mapper.compressor.decompress(plain)
    opened: dict[str, Any] = app.mapper.transcoder.decode(plain)
    assert "person" not in opened["data"] and "sealed_personal" in opened
    assert set(opened["commitments"]) == {"person", "reason"} and opened["salts"] is None


def test_nothing_follows_an_erasure_and_a_second_one_is_refused(store_env: dict[str, str]) -> None:
    app = node(store_env)
    case_id = a_case(app)
    app.record(case_id, "erasure", {"reason": "court-order"}, SARA)
    version = app.case(case_id).version
    for path, body in (("erasure", {"reason": "court-order"}),
                       ("referral", {"note": CANARY})):
        with pytest.raises(Sequence):
            app.record(case_id, path, body, SARA)
    assert node(store_env).case(case_id).version == version


def test_a_refused_erasure_destroys_no_key(store_env: dict[str, str]) -> None:
    app = node(store_env)
    case_id = a_case(app)
    with pytest.raises(StepOwner):
        app.record(case_id, "erasure", {"reason": "court-order"},
                   Actor("XC-NRM", "someone", SARA.roles))
    assert not app.keys.erased(case_id)
    assert node(store_env).timeline(case_id)[0].data["person"]["family_name"] == CANARY


def test_a_store_without_its_key_table_says_so_rather_than_reading_as_erased(
    tmp_path: Path,
) -> None:
    env = sqlite_env(tmp_path / "events.sqlite")
    app = node(env)
    case_id = a_case(app)
    app.close()
    (tmp_path / "events.keys.sqlite").unlink()  # restored from a backup without it
    with pytest.raises(MissingCaseKey):
        node(env).timeline(case_id)


def test_keys_read_together_are_each_cases_own_and_an_erased_one_stays_erased(
    store_env: dict[str, str],
) -> None:
    """The audit reads a range of cases' keys in one query (`CaseKeys.load`): each is the
    key that case's own reading gives, a case erased or never keyed is kept as nothing, and
    its reading still says erased, or no key."""
    app = node(store_env)
    kept, erased, unknown = a_case(app), a_case(app), uuid4()
    app.record(erased, "erasure", {"reason": "court-order"}, SARA)
    expected = app.keys.key(kept)
    other = node(store_env)  # nothing read yet
    reader = other.keys
    reader.load([erased, kept, unknown])
    assert set(reader._fresh) == {kept}
    assert reader._fresh[kept][1] == expected is not None
    assert reader.key(erased) is None and reader.erased(erased)
    assert reader.key(unknown) is None and not reader.erased(unknown)


def test_a_key_destroyed_while_keys_are_read_together_is_not_kept() -> None:
    """`CaseKeys.load` reads under the lock `destroy` takes: an erasure arriving while the
    rows are being read waits, then drops what was read, so no destroyed key stays in
    memory to open or seal anything."""
    import threading
    from collections.abc import Sequence as Ids
    from datetime import UTC, datetime

    from services.erasure.keys import MemoryCaseKeys

    class ErasedWhileRead(MemoryCaseKeys):
        def _select_all(self, case_ids: Ids[UUID]) -> dict[UUID, Any]:
            rows = super()._select_all(case_ids)  # read before the erasure lands
            eraser.start()
            eraser.join(timeout=0.3)  # done at once unless the lock holds it back
            return rows

    keys = ErasedWhileRead(None)
    case_id = uuid4()
    assert keys.key(case_id, create=True) is not None
    eraser = threading.Thread(target=keys.destroy, args=(case_id, datetime.now(UTC)))
    keys.load([case_id])
    eraser.join()
    assert keys.key(case_id) is None and keys.erased(case_id)
