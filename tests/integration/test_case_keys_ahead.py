"""Keys made ahead for cases about to be opened (the demo's seeding: services/network/
seed.py), on each backend: one write for many, each key as `key(create=True)` makes it,
and a case that has a row keeps it, its key or its erasure."""

from __future__ import annotations

from uuid import uuid4

from events.steps import OpenCase
from services.clock import FixedClock
from tests.harness.builders import ANNA, SARA, T0, opening
from tests.harness.stores import homeward


def test_keys_made_ahead_are_the_cases_keys_and_rows_there_stay(
    store_env: dict[str, str],
) -> None:
    app = homeward(store_env, FixedClock(T0))
    reader = homeward(store_env, FixedClock(T0))
    rows = reader.keys  # another process's: reads the table, keeps nothing read before
    try:
        keys = app.keys
        had, erased, fresh = uuid4(), uuid4(), [uuid4(), uuid4(), uuid4()]
        kept = keys.key(had, create=True)
        keys.key(erased, create=True)
        keys.destroy(erased, T0)
        keys.prepare([had, erased, *fresh])
        assert rows.key(had) == kept
        assert rows.key(erased, create=True) is None and rows.erased(erased)
        made = [rows.key(case_id) for case_id in fresh]
        assert all(key is not None and len(key) == 32 for key in made)
        assert len(set(made)) == len(fresh)
        # A case opened under an id whose key was made ahead seals its data under that key.
        case_id = fresh[0]
        app.open_case(OpenCase.model_validate({**opening(), "id": str(case_id)}), ANNA)
        assert keys.key(case_id) == made[0]
        assert app.case(case_id).state.person is not None
        app.record(case_id, "erasure", {"reason": "subject-request"}, SARA)
        assert keys.key(case_id) is None
    finally:
        app.close()
        reader.close()
