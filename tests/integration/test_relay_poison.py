"""The relay on the sender's side: an event that cannot become a message is dead-lettered
here and does not hold up the others, a missing notification id that a transaction
may still fill is never passed over, and the position reached is recorded once nothing
more waits (or every RECORD_EVERY), not per batch. Real SQLite stores; a producer that records what it
is given stands in for the broker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from events.steps import OpenCase
from services.backends.sqlite import SQLiteTables
from services.exchange import outgoing as outgoing_module
from services.exchange import relay as relay_module
from services.exchange import topics
from services.exchange.directory import Directory
from services.exchange.relay import DeadLetters, Relay
from services.exchange.sealing import open_sealed
from services.signing import SigningKey
from services.tables.deliveries import Deliveries
from tests.harness.builders import ANNA, T0, XA, XB, bodies, opening
from tests.harness.exchange_nodes import wait_until
from tests.harness.referring_node import READY, ReferringNode
from tests.harness.stores import sqlite_env

KEY, PARTNER = SigningKey.generate(XA), SigningKey.generate(XB)
TRUST = Directory().with_agency(KEY).with_agency(PARTNER).with_corridor(XA, XB)


def trust() -> Directory:
    return TRUST


class Acknowledged:
    def get(self, timeout: float | None = None) -> None:
        return None


class Recording:
    """A producer the broker acknowledges at once: what was sent, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, topic: str, key: bytes, value: bytes, headers: Any) -> Acknowledged:
        # What the partner reads once it opens the sealed envelope.
        self.sent.append((topic, open_sealed(json.loads(value), PARTNER.sealing)))
        return Acknowledged()

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


@pytest.fixture
def referring(tmp_path: Path) -> Iterator[ReferringNode]:
    referring = ReferringNode(sqlite_env(tmp_path / "events.sqlite"))
    yield referring
    referring.app.close()


def two_cases(referring: ReferringNode) -> tuple[UUID, UUID]:
    poisoned, healthy = referring.open(), referring.open()
    referring.run(poisoned, READY)
    referring.run(healthy, READY)
    return poisoned, healthy


def to_partner(sent: list[tuple[str, dict[str, Any]]], case_id: UUID) -> list[dict[str, Any]]:
    return [e for topic, e in sent if topic == topics.inbox(XB) and e["case_id"] == str(case_id)]


def drain(relay: Relay) -> None:
    while relay.relay_once():
        pass


def test_a_poison_event_is_dead_lettered_and_the_others_are_sent(
    referring: ReferringNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    poisoned, healthy = two_cases(referring)
    everything = list(referring.app.recorder.select_notifications(1, 10_000))
    clean = [(m.topic, m.envelope) for m in Relay(referring.app, KEY, Recording, trust).messages(everything)]
    expected = to_partner(clean, poisoned)
    assert len(expected) >= 5
    fourth = expected[3]["sequence"], poisoned

    real = outgoing_module.to_envelope

    def failing(case: Any, event: Any, sequence: int, *rest: Any) -> dict[str, Any]:
        if (sequence, case.id) == fourth:  # e.g. a payload the contract no longer takes
            raise ValueError("Ana Example does not fit the schema")
        return real(case, event, sequence, *rest)

    monkeypatch.setattr(outgoing_module, "to_envelope", failing)
    producer = Recording()
    dead = DeadLetters(tmp_path / "relay-dead-letters.jsonl")
    relay = Relay(referring.app, KEY, lambda: producer, trust, dead_letters=dead)
    drain(relay)

    # Everything of the healthy case left; the poisoned case up to its poison only.
    assert to_partner(producer.sent, healthy) == to_partner(clean, healthy)
    assert to_partner(producer.sent, poisoned) == expected[:3]
    assert relay.position() == referring.app.recorder.max_notification_id()
    assert relay.lag() == 0
    # The poison and the later events of its case wait on the sender's side.
    kept = [json.loads(line) for line in dead.path.read_text().splitlines()]  # type: ignore[union-attr]
    assert dead.count() == len(kept) == len(expected) - 3
    assert {k["case_id"] for k in kept} == {str(poisoned)}
    assert kept[0]["reason"] == "ValueError while encoding"
    assert all(k["reason"] == "an earlier event of its case could not be sent" for k in kept[1:])
    assert "Ana Example" not in dead.path.read_text() + caplog.text  # type: ignore[union-attr]
    assert DeadLetters(dead.path).count() == dead.count()  # read back from the file


def test_the_poisoned_case_stays_held_after_a_restart(
    referring: ReferringNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    poisoned, healthy = two_cases(referring)
    real = outgoing_module.to_envelope

    def failing(case: Any, event: Any, sequence: int, *rest: Any) -> dict[str, Any]:
        if case.id == poisoned and sequence == 2:
            raise ValueError("no longer fits")
        return real(case, event, sequence, *rest)

    monkeypatch.setattr(outgoing_module, "to_envelope", failing)
    path = tmp_path / "relay-dead-letters.jsonl"
    first = Relay(referring.app, KEY, Recording, trust, dead_letters=DeadLetters(path))
    drain(first)
    held = DeadLetters(path).count()
    # A later step of each case, read by a new relay without the first one's cache.
    referring.step(poisoned, "transport")
    referring.step(healthy, "transport")
    producer = Recording()
    restarted = Relay(referring.app, KEY, lambda: producer, trust, dead_letters=DeadLetters(path))
    drain(restarted)
    assert to_partner(producer.sent, poisoned) == []
    assert len(to_partner(producer.sent, healthy)) == 1
    assert DeadLetters(path).count() == held + 1


class Unsettled:
    """A store where a transaction may still fill any missing id (PostgreSQL's case)."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []
        self.answer = False

    def settled(self, first: int, before: int) -> bool:
        self.asked.append((first, before))
        return self.answer


def ready_without(referring: ReferringNode, monkeypatch: pytest.MonkeyPatch,
                  missing: Callable[[int], bool]) -> int:
    """A case ready to leave, its notifications read as if those `missing` says were not
    in the store (yet): the last notification id."""
    case_id = referring.open()
    referring.run(case_id, READY)
    select = referring.app.recorder.select_notifications

    def found(start: int, limit: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [n for n in select(start, limit, *args, **kwargs) if not missing(n.id)]

    monkeypatch.setattr(referring.app.recorder, "select_notifications", found)
    return referring.app.recorder.max_notification_id()


def test_the_relay_does_not_pass_a_gap_a_transaction_may_fill(
    referring: ReferringNode, monkeypatch: pytest.MonkeyPatch,
) -> None:
    in_flight = {4}  # a transaction holds id 4 and has not committed yet
    last = ready_without(referring, monkeypatch, lambda n: n in in_flight)
    barrier = Unsettled()
    producer = Recording()
    relay = Relay(referring.app, KEY, lambda: producer, trust, barrier=barrier)

    assert relay.relay_once() == 3
    assert relay.relay_once() == 0  # it waits at the gap
    assert relay.position() == 3 and barrier.asked == [(4, 5), (4, 5)]

    in_flight.clear()  # the slow transaction commits: id 4 is sent, in its place
    assert relay.relay_once() == last - 3
    sent = [e["sequence"] for topic, e in producer.sent if topic == topics.inbox(XB)]
    assert sent == sorted(sent) == list(range(1, len(sent) + 1))


def test_the_relay_passes_a_gap_the_store_says_will_stay(
    referring: ReferringNode, monkeypatch: pytest.MonkeyPatch,
) -> None:
    last = ready_without(referring, monkeypatch, lambda n: n == 2)  # id 2 was rolled back
    barrier = Unsettled()
    barrier.answer = True
    relay = Relay(referring.app, KEY, Recording, trust, barrier=barrier)
    assert relay.relay_once() == last - 1
    assert relay.position() == last and barrier.asked == [(2, 3)]


@pytest.mark.kafka
def test_operators_see_the_dead_letters_in_readyz_and_metrics(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from fastapi.testclient import TestClient

    from services.api.app import create_app
    from services.bootstrap import RELAY_DEAD_LETTERS, build_node
    from services.settings import load, secrets_dir

    def failing(*args: Any) -> dict[str, Any]:
        raise ValueError("no longer fits")

    monkeypatch.setattr(outgoing_module, "to_envelope", failing)
    from services.exchange.directory import save
    from services.signing import load_or_create

    settings = load(agency=XA, data_dir=tmp_path, kafka_bootstrap=kafka_bootstrap)
    own = load_or_create(secrets_dir(settings), XA)  # its key pair, and its partner's, trusted
    save(tmp_path / "directory.json",
         Directory().with_agency(own).with_agency(PARTNER).with_corridor(XA, XB))
    node = build_node(settings)
    try:
        node.start()
        client = TestClient(create_app(node))
        assert "alerts" not in client.get("/readyz").json()
        case_id = node.app.open_case(OpenCase.model_validate(opening()), ANNA).id
        for path in ("consent", "referral"):
            node.app.record(case_id, path, bodies(T0)[path], ANNA)
        deadline = time.monotonic() + 30  # the inbox's first group join takes seconds
        while (node.gauges["homeward_relay_dead_letters"]() < 3
               or client.get("/readyz").status_code != 200):
            assert time.monotonic() < deadline, "the relay did not reach the poison"
            time.sleep(0.05)
        ready = client.get("/readyz")  # the node still serves, and says what waits
        assert ready.json()["alerts"]["relay"].startswith("3 event(s) could not be sent")
        assert str(tmp_path / RELAY_DEAD_LETTERS) in ready.json()["alerts"]["relay"]
        assert "homeward_relay_dead_letters 3.0" in client.get("/metrics").text
        assert node.gauges["homeward_relay_lag_events"]() == 0
    finally:
        node.close()


def test_a_relay_reading_its_log_again_sends_no_message_already_receipted(
    referring: ReferringNode, tmp_path: Path,
) -> None:
    """A relay behind its position (a crash before it moved on, seeded demo cases) reads
    messages it sent once more: those the partner receipted stay home, the rest go."""
    receipted, unanswered = two_cases(referring)
    deliveries = Deliveries(SQLiteTables(tmp_path / "api.sqlite"))
    first = Recording()
    drain(Relay(referring.app, KEY, lambda: first, trust, deliveries=deliveries))
    sent = to_partner(first.sent, receipted)
    assert len(sent) >= 5 and to_partner(first.sent, unanswered)
    for envelope in sent:
        assert deliveries.receipted(envelope["message_id"], receipted, XB, "a" * 64, T0)

    again = Recording()
    relay = Relay(referring.app, KEY, lambda: again, trust, deliveries=deliveries)
    relay.publish(relay.messages(list(referring.app.recorder.select_notifications(1, 10_000))))
    assert to_partner(again.sent, receipted) == []
    assert to_partner(again.sent, unanswered) == to_partner(first.sent, unanswered)


def recorded(relay: Relay) -> int:
    return relay.tracking.max_tracking_id("homeward-relay") or 0


def test_the_position_is_recorded_when_a_relay_settles_or_stops_not_per_batch(
    referring: ReferringNode, monkeypatch: pytest.MonkeyPatch,
) -> None:
    two_cases(referring)
    last = referring.app.recorder.max_notification_id()
    producer = Recording()
    relay = Relay(referring.app, KEY, lambda: producer, trust, batch_size=3)
    assert relay.relay_once() == 3 and relay.relay_once() == 3
    assert relay.position() == 6 and recorded(relay) == 0  # reached, in memory only
    assert relay.lag() == last - 6
    drain(relay)  # until nothing more waits: then recorded
    assert relay.position() == recorded(relay) == last and relay.lag() == 0
    sent = len(producer.sent)

    # A relay that stopped before recording what it sent starts from the recorded position
    # and sends it again (the partner recognises it); one that closes records it.
    referring.run(referring.open(), READY)
    more = referring.app.recorder.max_notification_id() - last
    crashed = Relay(referring.app, KEY, lambda: producer, trust, batch_size=100)
    assert crashed.relay_once() == more and recorded(crashed) == last
    first = [e["message_id"] for _, e in producer.sent[sent:]]
    assert first  # the new case, referred: sent to the partner
    again = Relay(referring.app, KEY, lambda: producer, trust, batch_size=100)
    assert again.position() == last and again.relay_once() == more
    assert [e["message_id"] for _, e in producer.sent[sent + len(first):]] == first
    again.close()
    assert recorded(again) == last + more
    referring.run(referring.open(), READY)

    # Past RECORD_EVERY ahead of the recorded position, a batch records it with more to come.
    monkeypatch.setattr(relay_module, "RECORD_EVERY", 0.0)
    again.batch_size = 3
    assert again.relay_once() == 3 and recorded(again) == last + more + 3

    # Running, it records only RECORD_EVERY after it ran ahead, or as it stops.
    monkeypatch.setattr(relay_module, "RECORD_EVERY", 60.0)
    referring.run(referring.open(), READY)
    end = referring.app.recorder.max_notification_id()
    runner, stop = Relay(referring.app, KEY, lambda: producer, trust), threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    wait_until(lambda: runner.position() == end)
    time.sleep(0.2)  # idle meanwhile: nothing more waits, still not recorded
    assert recorded(runner) == last + more + 3 < end
    stop.set()
    thread.join(10)
    assert recorded(runner) == end


class FailingOnce(Recording):
    """A broker that acknowledges, then fails one send (it died and came back empty)."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.before_failure: list[tuple[str, dict[str, Any]]] = []

    def send(self, topic: str, key: bytes, value: bytes, headers: Any) -> Acknowledged:
        if len(self.sent) == self.fail_at:
            self.fail_at, self.before_failure = -1, list(self.sent)
            raise ConnectionError("the broker is gone")
        return super().send(topic, key, value, headers)


def test_a_relay_that_fails_to_send_goes_back_to_its_recorded_position(
    referring: ReferringNode, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the broker acknowledged in the second before it died may be gone with it: the
    # relay sends it again from its recorded position, under the same ids.
    monkeypatch.setattr(relay_module, "RECORD_EVERY", 3600.0)  # nothing recorded meanwhile
    case_id = referring.open()
    referring.run(case_id, READY)
    producer = FailingOnce(fail_at=4)
    relay = Relay(referring.app, KEY, lambda: producer, trust, batch_size=2)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,), kwargs={"backoff": 0.01})
    runner.start()
    try:
        wait_until(lambda: relay.lag() == 0 and producer.fail_at == -1, 10)
    finally:
        stop.set()
        runner.join(10)
    before = [e["message_id"] for e in to_partner(producer.before_failure, case_id)]
    ids = [e["message_id"] for e in to_partner(producer.sent, case_id)]
    assert before and ids[:len(before)] == before
    # Sent again from the recorded position (none: 0), then on to the end, nothing lost.
    again = ids[len(before):]
    assert again[:len(before)] == before and set(again) == set(ids)
