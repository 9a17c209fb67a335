"""What a node reads of its store, on real stores: rows written with the earlier cipher
still read; a command reads only the events saved since the case was last read; read
models are folded without each case's key."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from eventsourcing.cipher import AESCipher as PycryptodomeCipher
from eventsourcing.cryptography import AESCipher as OpenSSLCipher
from eventsourcing.utils import Environment, resolve_topic

from events.case import CaseEvent
from events.chain import ERASED
from events.steps import STEPS, OpenCase
from events.values import Received
from services.anchors.audit import StoreAudit, trusted
from services.anchors.store import Anchors
from services.application import Homeward
from services.backends import of_store
from services.backends.sqlite import SQLiteTables
from services.bootstrap import CIPHER, persistence_env, read_models
from services.clock import FixedClock
from services.erasure.mapper import PersonalDataMapper
from services.erasure.store_cipher import StoreCipher
from services.settings import load
from tests.harness.builders import ANNA, CANARY, SARA, T0, XA, XB, bodies, opening
from tests.harness.referring_node import HOME, READY, ReferringNode
from tests.harness.stores import KEY, homeward

EARLIER_CIPHER = "eventsourcing.cipher:AESCipher"  # pycryptodome, what nodes wrote with before


def with_cipher(env: dict[str, str], topic: str) -> dict[str, str]:
    return {**env, "CIPHER_TOPIC": topic, "CIPHER_KEY": KEY}


def opened(app: Homeward) -> UUID:
    return app.open_case(OpenCase.model_validate(opening()), ANNA).id


def referred(app: Homeward) -> UUID:
    """A case opened, consented to and referred, by this process."""
    case_id = opened(app)
    for path in ("consent", "referral"):
        app.record(case_id, path, bodies(T0)[path], ANNA)
    return case_id


class Counted:
    """The event store's reads, counted: how many a load asked, how many events it took."""

    def __init__(self, app: Homeward) -> None:
        self.reads = self.events = 0
        store = app.repository.event_store
        read = store.get

        def get(*args: Any, **kwargs: Any) -> Iterable[Any]:
            found = list(read(*args, **kwargs))
            self.reads += 1
            self.events += len(found)
            return found

        store.get = get  # type: ignore[method-assign]


def test_the_node_encrypts_with_openssl(tmp_path: Path) -> None:
    env = persistence_env(load(agency="XA-NRM", data_dir=tmp_path / "xa"))
    assert env["CIPHER_TOPIC"] == CIPHER == "services.erasure.store_cipher:StoreCipher"
    assert issubclass(resolve_topic(CIPHER), OpenSSLCipher)


def test_the_nodes_cipher_writes_and_reads_rows_as_eventsourcings_does() -> None:
    """The node's cipher keeps its AES-GCM key set up: what it writes, eventsourcing's and
    pycryptodome's `AESCipher` read, and the other way round; a row with one byte changed,
    or cut short, is refused with their error."""
    env = Environment(env={"CIPHER_KEY": KEY})
    ours, theirs, earlier = StoreCipher(env), OpenSSLCipher(env), PycryptodomeCipher(env)
    for other in (theirs, earlier):
        assert other.decrypt(ours.encrypt(b'{"a": 1}')) == b'{"a": 1}'
        assert ours.decrypt(other.encrypt(b'{"b": 2}')) == b'{"b": 2}'
    row = ours.encrypt(b"x" * 150)
    assert len(row) == len(theirs.encrypt(b"x" * 150)) and ours.encrypt(b"x" * 150) != row
    for damaged in (row[:-1] + bytes([row[-1] ^ 1]), row[:5] + bytes([row[5] ^ 1]) + row[6:],
                    row[:20]):
        for cipher in (ours, theirs):
            with pytest.raises(ValueError):
                cipher.decrypt(damaged)


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


def test_a_command_reads_no_event_back_of_a_case_this_process_saved(
    plain_env: dict[str, str],
) -> None:
    # The case as this process last saved it is kept in memory: the next command starts
    # from it, and a read asks the store only for what was saved since (nothing here).
    app = homeward(with_cipher(plain_env, CIPHER), FixedClock(T0))
    case_id = referred(app)
    counted = Counted(app)
    saved = app.record(case_id, "asylum-claim", bodies(T0)["asylum-claim"], ANNA)
    assert counted.events == 0
    assert app.case(case_id).version == saved.version > 4  # the claim holds the return too
    assert counted.events == 0


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


def test_a_step_that_fails_on_the_kept_case_leaves_the_case_as_stored(
    plain_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A step is tried on the kept case itself, not a copy: one that fails after its event
    # was applied (here, at the save) must leave nothing of it in memory.
    app = homeward(with_cipher(plain_env, CIPHER), FixedClock(T0))
    case_id = opened(app)
    app.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    before = app.case(case_id)
    def failing(*args: Any) -> Any:
        raise RuntimeError("the disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(app, "_record", failing)
        with pytest.raises(RuntimeError):
            app.record(case_id, "referral", {}, ANNA)
    after = app.case(case_id)
    assert (after.version, after.state, after.last_hash) == (
        before.version, before.state, before.last_hash)
    saved = app.record(case_id, "referral", {}, ANNA)
    assert saved.version == before.version + 1
    assert [e.type for e in app.timeline(case_id)][-1] == "ReferralSent"
    assert app.verify(case_id) == []


def test_the_case_a_command_returns_is_not_the_one_kept(plain_env: dict[str, str]) -> None:
    # The caller reads on (an answer, a projection) while the next command changes the
    # kept case in place: what it was given must not move under it.
    app = homeward(with_cipher(plain_env, CIPHER), FixedClock(T0))
    case_id = opened(app)
    given = app.record(case_id, "consent", bodies(T0)["consent"], ANNA)
    version, state = given.version, copy.deepcopy(given.state)
    app.record(case_id, "referral", {}, ANNA)
    assert (given.version, given.state) == (version, state)
    assert app.case(case_id).version == version + 1


def partner_fact(path: str, sequence: int) -> tuple[str, dict[str, Any], Received]:
    """The receiving agency's step as its message brings it (tests/harness/referring_node)."""
    step = STEPS[path]
    payload = step.body.model_validate(bodies(T0)[path]).model_dump(mode="json",
                                                                    exclude_none=True)
    if step.for_partner is not None:
        payload = step.for_partner(payload)
    payload = {k: v for k, v in payload.items() if k not in step.local_only}
    if step.sided:
        payload["side"] = "receiving"
    return step.message_type, payload, Received(XB, str(uuid4()), "0" * 64, sequence)


def test_a_fact_reads_no_event_back_of_a_case_this_process_saved(
    plain_env: dict[str, str],
) -> None:
    # A partner's fact is recorded on the kept case as a step is, and the caller is given
    # a copy: the next command, changing the kept case in place, cannot move it.
    app = homeward(with_cipher(plain_env, CIPHER), FixedClock(T0))
    case_id = referred(app)
    counted = Counted(app)
    message = partner_fact("acknowledgement", 1)
    given = app.receive(case_id, *message)
    assert counted.reads == 0
    assert given is not None and given.state.acknowledged_at is not None
    version, state = given.version, copy.deepcopy(given.state)
    app.record(case_id, "asylum-claim", bodies(T0)["asylum-claim"], ANNA)
    assert (given.version, given.state) == (version, state)
    assert app.receive(case_id, *message) is None  # delivered again: recorded once
    assert counted.reads == 0
    assert app.verify(case_id) == []


def test_a_fact_the_kept_case_is_behind_for_is_judged_on_the_case_as_stored(
    plain_env: dict[str, str],
) -> None:
    # Another process recorded the partner's first fact: here, the kept case lacks it and
    # the second would seem out of sequence, or the first new; the store's case decides.
    env = with_cipher(plain_env, CIPHER)
    here, replica = homeward(env, FixedClock(T0)), homeward(env, FixedClock(T0))
    case_id = referred(here)
    first = partner_fact("acknowledgement", 1)
    assert replica.receive(case_id, *first) is not None
    assert here.receive(case_id, *first) is None  # recorded once, by the replica
    accepted = here.receive(case_id, *partner_fact("acceptance", 2))
    assert accepted is not None and accepted.state.accepted_at is not None
    assert [e.type for e in here.timeline(case_id)][-2:] == [
        "ReferralAcknowledged", "ReferralAccepted"]
    assert here.case(case_id).state == replica.case(case_id).state
    assert here.verify(case_id) == []


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


def test_a_read_model_reads_each_row_as_the_whole_reading_with_nothing_personal(
        plain_env: dict[str, str]) -> None:
    """Read models take a case event's row straight from its JSON (`without_personal`); it
    must be the event the transcoder reads, each personal field `ERASED`, for every kind of
    row: sealed personal data, a step kept home under the neutral topic, a partner's fact,
    an erased case. A row holding any other transcoded value is read by the transcoder."""
    referring = ReferringNode(with_cipher(plain_env, CIPHER))
    for stage in (HOME, [*READY[:2], "asylum-claim"], [*HOME, "closure"]):
        referring.run(referring.open(), stage)
    erased = referring.open()
    referring.app.record(erased, "erasure", {"reason": "subject-request"}, SARA)
    mapper = cast(PersonalDataMapper, referring.app.mapper)
    rows = referring.app.recorder.select_notifications(start=1, limit=10_000)
    kinds = set()
    for row in rows:
        read = mapper.without_personal(row)
        whole = mapper.to_domain_event(row)
        assert type(read) is type(whole)
        expected = dict(vars(whole))
        if isinstance(whole, CaseEvent) and whole.commitments:
            expected["data"] = {**whole.data, **{k: ERASED for k in whole.commitments}}
            expected["salts"] = None
            kinds.add("sealed" if whole.salts else "erased")
        assert vars(read) == expected
        if row.topic.endswith(":KeptHome"):
            kinds.add("kept home")
        if getattr(whole, "received", None):
            kinds.add("received")
    assert kinds == {"sealed", "erased", "kept home", "received"}
    event = cast(CaseEvent, mapper.to_domain_event(rows[0]))
    tagged = copy.copy(event)
    object.__setattr__(tagged, "__dict__", {**vars(event), "data": {**event.data,
                                                                     "ref": UUID(int=7)}})
    assert cast(CaseEvent, mapper.without_personal(
        mapper.to_stored_event(tagged))).data["ref"] == UUID(int=7)


def test_a_read_model_refuses_a_damaged_row_as_the_nodes_cipher_does(
        plain_env: dict[str, str]) -> None:
    """Read models decrypt with the cipher's AES-GCM key set up once: a row with one byte
    changed, or cut short, is refused with the cipher's own error, never read."""
    referring = ReferringNode(with_cipher(plain_env, CIPHER))
    referring.run(referring.open(), READY[:2])
    mapper = cast(PersonalDataMapper, referring.app.mapper)
    row, cipher = referring.app.recorder.select_notifications(start=1, limit=1)[0], mapper.cipher
    assert cipher is not None and mapper.without_personal(row).originator_id == row.originator_id
    for state in (row.state[:-1] + bytes([row.state[-1] ^ 1]), row.state[:20]):
        damaged = copy.copy(row)
        object.__setattr__(damaged, "state", state)
        with pytest.raises(ValueError):
            cipher.decrypt(state)
        with pytest.raises(ValueError):
            mapper.without_personal(damaged)


def test_the_audit_reads_a_range_of_cases_in_one_query_as_it_reads_each(
        store_env: dict[str, str], tmp_path: Path) -> None:
    """The backend's reading of several cases' rows at once (`stored_events`) is each case's
    own (`select_events`), in order; the audit checks a range so, a case it does not hold
    left out, and a forged row is still named."""
    referring = ReferringNode(store_env)
    cases = [referring.open() for _ in range(3)]
    for case_id, stage in zip(cases, (READY[:2], HOME, READY), strict=True):
        referring.run(case_id, stage)
    chosen = of_store(store_env)
    assert chosen is not None
    wanted = [cases[2], uuid4(), cases[0], cases[1]]
    together = chosen.stored_events(referring.app, wanted)
    assert set(together) == set(cases)
    for case_id in cases:
        assert together[case_id] == list(referring.app.recorder.select_events(case_id))
    audit = StoreAudit(referring.app, Anchors(SQLiteTables(tmp_path / "api.sqlite")), XA, trusted(None, None),
                       lambda ids: chosen.stored_events(referring.app, ids))
    one_by_one = StoreAudit(referring.app, Anchors(SQLiteTables(tmp_path / "api.sqlite")), XA, trusted(None, None))
    assert audit.range(cases) == [one_by_one.case(c) for c in cases]
    assert [a.events for a in audit.range(cases)] == [
        len(referring.app.recorder.select_events(c)) for c in cases]
    assert all(not a.faults for a in audit.range(cases))
    event = cast(CaseEvent, referring.app.mapper.to_domain_event(together[cases[1]][2]))
    forged = copy.copy(event)
    object.__setattr__(forged, "__dict__", {**vars(event), "actor": "someone else"})
    row = referring.app.mapper.to_stored_event(forged)
    rows_of = {**together, cases[1]: [*together[cases[1]][:2], row, *together[cases[1]][3:]]}
    tampered = StoreAudit(referring.app, Anchors(SQLiteTables(tmp_path / "api.sqlite")), XA, trusted(None, None),
                          lambda ids: {c: rows_of[c] for c in ids if c in rows_of})
    [first, second, third] = tampered.range(cases)
    assert not first.faults and not third.faults
    assert [(f.version, f.kind) for f in second.faults] == [(3, "chain")]
