"""What a node reads of its store, on real stores: rows written with the earlier cipher
still read; a command reads only the events saved since the case was last read; read
models are folded without each case's key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.cipher import AESCipher as PycryptodomeCipher

from events.steps import OpenCase
from services.application import Homeward
from services.bootstrap import CIPHER, persistence_env, read_models
from services.clock import FixedClock
from services.settings import load
from tests.harness.builders import ANNA, CANARY, SARA, T0, bodies, opening
from tests.harness.referring_node import HOME, READY, ReferringNode
from tests.harness.stores import KEY, homeward

EARLIER_CIPHER = "eventsourcing.cipher:AESCipher"  # pycryptodome, what nodes wrote with before


def with_cipher(env: dict[str, str], topic: str) -> dict[str, str]:
    return {**env, "CIPHER_TOPIC": topic, "CIPHER_KEY": KEY}


def opened(app: Homeward) -> UUID:
    return app.open_case(OpenCase.model_validate(opening()), ANNA).id


class Counted:
    """The event store's reads, counted: how many events a load took from the store."""

    def __init__(self, app: Homeward) -> None:
        self.events = 0
        store = app.repository.event_store
        read = store.get

        def get(*args: Any, **kwargs: Any) -> Iterable[Any]:
            found = list(read(*args, **kwargs))
            self.events += len(found)
            return found

        store.get = get  # type: ignore[method-assign]


def test_the_node_encrypts_with_openssl(tmp_path: Path) -> None:
    env = persistence_env(load(agency="XA-NRM", data_dir=tmp_path / "xa"))
    assert env["CIPHER_TOPIC"] == CIPHER == "eventsourcing.cryptography:AESCipher"


def test_a_store_written_with_the_earlier_cipher_reads_and_goes_on(
    plain_env: dict[str, str],
) -> None:
    earlier = homeward(with_cipher(plain_env, EARLIER_CIPHER), FixedClock(T0))
    assert type(earlier.mapper.cipher) is PycryptodomeCipher
    case_id = opened(earlier)
    earlier.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    written = earlier.case(case_id)
    earlier.close()

    now = homeward(with_cipher(plain_env, CIPHER), FixedClock(T0))
    case = now.case(case_id)
    assert case.state == written.state
    assert case.state.person["family_name"] == CANARY  # type: ignore[index]
    assert now.verify(case_id) == []
    now.record(case_id, "referral", {}, ANNA)
    assert [e.type for e in now.timeline(case_id)] == [
        "CaseOpened", "ConsentRecorded", "ReferralSent"]


def test_a_command_reads_only_the_events_saved_since_the_case_was_read(
    plain_env: dict[str, str],
) -> None:
    app = homeward(with_cipher(plain_env, CIPHER), FixedClock(T0))
    case_id = opened(app)
    for path in ("consent", "referral"):
        app.record(case_id, path, bodies(T0)[path], ANNA)
    counted = Counted(app)
    saved = app.record(case_id, "asylum-claim", bodies(T0)["asylum-claim"], ANNA)
    assert counted.events == 1  # the referral saved by the step before; not all three
    assert app.case(case_id).version == saved.version > 4  # the claim holds the return too
    assert counted.events == 1 + saved.version - 3


def test_a_cached_case_has_what_another_writer_saved(
    plain_env: dict[str, str],
) -> None:
    env = with_cipher(plain_env, CIPHER)
    here, replica = homeward(env, FixedClock(T0)), homeward(env, FixedClock(T0))
    case_id = opened(here)
    here.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    replica.record(case_id, "referral", {}, ANNA)
    # Without If-Match the step runs on the case as the store has it, the replica's included.
    here.record(case_id, "asylum-claim", bodies(T0)["asylum-claim"], ANNA)
    assert [e.type for e in replica.timeline(case_id)][:4] == [
        "CaseOpened", "ConsentRecorded", "ReferralSent", "AsylumClaimRecorded"]
    assert here.case(case_id).state == replica.case(case_id).state


def test_an_erased_case_leaves_the_cache(plain_env: dict[str, str]) -> None:
    app = homeward(with_cipher(plain_env, CIPHER), FixedClock(T0))
    case_id = opened(app)
    assert app.case(case_id).state.person is not None
    app.record(case_id, "erasure", {"reason": "subject-request"}, SARA)
    assert app.repository.cache is not None
    with pytest.raises(KeyError):
        app.repository.cache.get(case_id)
    assert app.case(case_id).state.person is None


def test_read_models_are_folded_without_any_case_key(plain_env: dict[str, str]) -> None:
    referring = ReferringNode(with_cipher(plain_env, CIPHER))
    for stage in (READY[:2], HOME):
        referring.run(referring.open(), stage)
    lookups: list[UUID] = []
    key = referring.app.keys.key

    def counted(case_id: UUID, create: bool = False) -> bytes | None:
        lookups.append(case_id)
        return key(case_id, create)

    referring.app.keys.key = counted  # type: ignore[method-assign]
    models = read_models(referring.app)
    try:
        for runner in models.runners:
            assert runner.rebuild().events == referring.app.recorder.max_notification_id()
        assert len(models.store.rows("board")) == 2
        assert CANARY not in str(models.store.rows("board"))
    finally:
        models.close()
    assert lookups == []
