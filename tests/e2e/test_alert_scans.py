"""The monitor's scan for overdue clocks reads what changed, not what it holds: a tick
with nothing written and no clock come due reads no case document and no delivered
delivery; a clock coming due between ticks is raised at its time, a document written is
read again, a restart or a new subscription reads them all. Deliveries finished longer
ago than the retention are forgotten only once their alert can never be found again, so
nothing is delivered twice, across a restart too."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest

from projections.projection import Doc
from services.alerts.deliveries import DELIVERIES
from services.alerts.watch import MONITOR_DOCS, RETENTION, Alerts
from services.backends.postgres_reads import PostgresReadStore
from services.backends.sqlite_reads import SqliteReadStore
from services.clock import FixedClock
from services.readside.monitor import MonitorView
from services.readside.store import ReadStore
from tests.harness.stores import encrypted

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
XB = {"referring": "XA-NRM", "receiving": "XB-NRM"}
HOOK = "https://alerts.example.org/hook"
EVENTS = ["handoff-overdue", "acknowledgement-overdue", "decision-overdue",
          "transit-incident"]


def milestone(case: str, name: str, status: str, at: datetime,
              **extra: Any) -> tuple[str, dict[str, Any]]:
    return pseudonym(case), {
        "corridor": XB, "kind": "repatriation", "milestone": name, "status": status,
        "occurred_at": at.isoformat(), "minor": False, **extra}


def pseudonym(case: str) -> str:
    return str(uuid5(NAMESPACE_URL, case))


def departed(case: str, at: datetime, arrives: datetime) -> tuple[str, dict[str, Any]]:
    """Its arrival owed 12 hours after it is expected: the `confirm arrival` clock."""
    return milestone(case, "departure-confirmed", "in_transit", at, due_at=arrives.isoformat())


class Counting:
    """The store, counting the documents read of each kind."""

    def __init__(self, store: ReadStore) -> None:
        self.store, self.read = store, {MONITOR_DOCS: 0, DELIVERIES: 0}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def load(self, name: str, keys: Iterable[str]) -> dict[str, Doc]:
        return self._counted(name, self.store.load(name, keys))

    def all(self, name: str) -> dict[str, Doc]:
        return self._counted(name, self.store.all(name))

    def _counted(self, name: str, docs: dict[str, Doc]) -> dict[str, Doc]:
        if name in self.read:
            self.read[name] += len(docs)
        return docs


class Monitor:
    """A monitor's alerts and view on a store, as `build_monitor` wires them; every POST
    answered 200 and kept."""

    def __init__(self, store: ReadStore, clock: FixedClock,
                 retention: timedelta = RETENTION) -> None:
        self.store, self.clock = Counting(store), clock
        self.sent: list[dict[str, Any]] = []
        self.alerts = Alerts(self.store, clock.now, send=self._send,
                             retention=retention)
        self.view = MonitorView(self.store, escalated=self.alerts.escalated,
                                written=self.alerts.written)

    def _send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.sent.append(json.loads(body))
        return 200

    def subscribe(self, events: list[str] = EVENTS) -> str:
        return self.alerts.subscriptions.create({"url": HOOK, "events": events},
                                                self.clock.now()).id

    def tick(self) -> list[tuple[str, str | None]]:
        """(event, clock or incident) of what this tick delivered."""
        before = len(self.sent)
        self.alerts.tick()
        return [(b["event"], b.get("clock", b.get("incident"))) for b in self.sent[before:]]


Stores = Callable[[], ReadStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    made: list[ReadStore] = []

    def make() -> ReadStore:
        if request.param == "sqlite":
            made.append(SqliteReadStore(tmp_path / "monitor.sqlite"))
        else:
            env = encrypted(request.getfixturevalue("pg_env"))
            made.append(PostgresReadStore.from_env(env))
        return made[-1]

    yield make
    for store in made:
        store.close()


def test_a_tick_reads_only_what_was_written_or_came_due(stores: Stores) -> None:
    clock = FixedClock(NOW)
    monitor = Monitor(stores(), clock)
    monitor.subscribe()
    monitor.view.record([milestone(f"case-{i}", "referral-sent", "referred", NOW)
                         for i in range(20)]
                        + [milestone("missing", "transit-incident-recorded", "on_hold", NOW,
                                     incident="missing")])
    assert monitor.tick() == [("transit-incident", "missing")]
    clock.advance(seconds=1)
    monitor.store.read = dict.fromkeys(monitor.store.read, 0)
    assert monitor.tick() == []
    # Nothing written, no clock come due: no case document read, no delivered delivery.
    assert monitor.store.read == {MONITOR_DOCS: 0, DELIVERIES: 0}

    monitor.view.record([milestone("case-3", "referral-acknowledged", "acknowledged",
                                   NOW + timedelta(hours=1))])
    monitor.store.read = dict.fromkeys(monitor.store.read, 0)
    assert monitor.tick() == []
    assert monitor.store.read[MONITOR_DOCS] == 1  # the one written
    assert monitor.store.read[DELIVERIES] == 0


def test_a_clock_coming_due_between_ticks_is_raised_at_its_time(stores: Stores) -> None:
    clock = FixedClock(NOW)
    monitor = Monitor(stores(), clock)
    monitor.subscribe()
    assert monitor.tick() == []
    # Expected at 11:00, owed by 23:00; the sent referral's clocks fall due in 2 and 7 days.
    monitor.view.record([departed("trip", NOW, NOW + timedelta(hours=2)),
                         milestone("sent", "referral-sent", "referred", NOW)])
    assert monitor.tick() == []  # read once, as written: nothing overdue yet
    clock.at = NOW + timedelta(hours=14)
    assert monitor.tick() == []  # at its due time, not yet past it
    clock.advance(seconds=1)
    assert monitor.tick() == [("handoff-overdue", "confirm arrival")]
    clock.at = NOW + timedelta(days=8)  # both of the referral's clocks past at once
    assert sorted(monitor.tick()) == [("acknowledgement-overdue", "acknowledge referral"),
                                      ("decision-overdue", "accept or decline")]
    for _ in range(3):
        clock.advance(minutes=10)
        assert monitor.tick() == []  # each alert once


def test_a_document_written_is_read_again(stores: Stores) -> None:
    clock = FixedClock(NOW)
    monitor = Monitor(stores(), clock)
    monitor.subscribe()
    monitor.view.record([departed("trip", NOW, NOW + timedelta(hours=20))])
    assert monitor.tick() == []  # owed by NOW + 32 h
    clock.at = NOW + timedelta(hours=15)
    assert monitor.tick() == []
    # Re-planned: expected at NOW + 2 h after all, so owed since NOW + 14 h, before the
    # time the scan had kept for this case.
    monitor.view.record([departed("trip", NOW + timedelta(hours=1), NOW + timedelta(hours=2))])
    assert monitor.tick() == [("handoff-overdue", "confirm arrival")]
    clock.at = NOW + timedelta(hours=33)
    assert monitor.tick() == []  # the earlier plan's time: nothing of it stands


def test_a_restart_and_a_new_subscription_read_every_document(stores: Stores) -> None:
    clock = FixedClock(NOW)
    store = stores()
    monitor = Monitor(store, clock)
    monitor.subscribe()
    assert monitor.tick() == []
    # Written while the node was down (a view that told no one): a restart finds it.
    MonitorView(store).record([milestone("late", "referral-sent", "referred",
                                         NOW - timedelta(days=3))])
    assert monitor.tick() == []
    restarted = Monitor(store, clock)
    assert restarted.tick() == [("acknowledgement-overdue", "acknowledge referral")]
    assert restarted.tick() == []
    # A subscription made now is told of every alert standing, the others not again.
    restarted.subscribe(["acknowledgement-overdue"])
    clock.advance(seconds=1)
    assert restarted.tick() == [("acknowledgement-overdue", "acknowledge referral")]
    assert {b["id"] for b in restarted.sent} == {
        d["id"] for d in store.all(DELIVERIES).values()}


def test_a_scan_that_failed_is_made_whole_again(stores: Stores) -> None:
    clock = FixedClock(NOW)
    monitor = Monitor(stores(), clock)
    monitor.subscribe()
    assert monitor.tick() == []
    monitor.view.record([milestone("sent", "referral-sent", "referred",
                                   NOW - timedelta(days=3))])
    real = monitor.store.load

    def hiccup(name: str, keys: Iterable[str]) -> dict[str, Doc]:
        raise OSError("the store hiccuped")

    monitor.store.load = hiccup  # type: ignore[method-assign]
    with pytest.raises(OSError):
        monitor.tick()
    monitor.store.load = real  # type: ignore[method-assign]
    assert monitor.tick() == [("acknowledgement-overdue", "acknowledge referral")]


def test_old_deliveries_are_forgotten_only_when_their_alert_cannot_stand_again(
        stores: Stores) -> None:
    clock = FixedClock(NOW)
    store = stores()
    monitor = Monitor(store, clock)
    monitor.subscribe(["acknowledgement-overdue", "transit-incident"])
    monitor.view.record([
        milestone("answered", "referral-sent", "referred", NOW - timedelta(days=3)),
        milestone("unanswered", "referral-sent", "referred", NOW - timedelta(days=3)),
        milestone("closed", "referral-sent", "referred", NOW - timedelta(days=3)),
        milestone("missing", "transit-incident-recorded", "on_hold", NOW,
                  incident="missing")])
    assert sorted(monitor.tick()) == [("acknowledgement-overdue", "acknowledge referral")] * 3 \
        + [("transit-incident", "missing")]
    monitor.view.record([
        milestone("answered", "referral-acknowledged", "acknowledged", NOW),
        milestone("closed", "case-closed", "closed", NOW)])
    kept = {d["body"]["case"] for d in store.all(DELIVERIES).values()}
    assert kept == {pseudonym(c) for c in ("answered", "unanswered", "closed", "missing")}

    clock.at = NOW + RETENTION - timedelta(minutes=1)
    assert monitor.alerts.prune() == 0  # none finished longer ago than the retention
    clock.at = NOW + RETENTION + timedelta(minutes=1)
    forgotten = monitor.alerts.prune()
    # After a restart every document is read again and the clocks still overdue are found
    # again: none is delivered twice, the closed case's neither once reopened.
    restarted = Monitor(store, clock)
    restarted.view.record([milestone("missing", "transit-incident-recorded", "on_hold", NOW,
                                     incident="missing")])  # merged again: nothing new
    restarted.view.record([milestone("closed", "case-reopened", "referred",
                                     NOW + timedelta(days=1))])
    assert restarted.tick() == []
    # Forgotten: the clock met (a milestone reached stays reached), the incident merged.
    # Kept: the clocks still overdue, the closed case's too (a reopening brings it back).
    assert forgotten == 2
    left = {(d["body"]["case"], d["body"]["event"]) for d in store.all(DELIVERIES).values()}
    assert left == {(pseudonym("unanswered"), "acknowledgement-overdue"),
                    (pseudonym("closed"), "acknowledgement-overdue")}


def test_the_tick_prunes_once_an_hour(stores: Stores) -> None:
    clock = FixedClock(NOW)
    store = stores()
    monitor = Monitor(store, clock, retention=timedelta(days=1))
    monitor.subscribe()
    monitor.view.record([milestone("missing", "transit-incident-recorded", "on_hold", NOW,
                                   incident="missing")])
    assert monitor.tick() == [("transit-incident", "missing")]
    clock.at = NOW + timedelta(hours=23, minutes=30)
    monitor.tick()  # prunes: nothing finished a day ago yet
    clock.at = NOW + timedelta(days=1, minutes=1)
    monitor.tick()
    assert len(store.all(DELIVERIES)) == 1  # the last prune was 31 minutes ago
    clock.at = NOW + timedelta(days=1, minutes=30)
    monitor.tick()
    assert store.all(DELIVERIES) == {}


def test_deliveries_kept_before_their_index_are_found(stores: Stores) -> None:
    store = stores()
    # As a monitor kept them before the index: documents only.
    waiting: Doc = {"id": "d-1", "subscription": "s-1", "body": {"id": "d-1"},
               "created_at": NOW.isoformat(), "next_at": NOW.isoformat(),
               "delivered_at": None, "gave_up_at": None, "attempts": []}
    done = {**waiting, "id": "d-2", "delivered_at": NOW.isoformat()}
    store.commit(DELIVERIES, {"d-1": waiting, "d-2": done})
    deliveries = Alerts(store, FixedClock(NOW + timedelta(seconds=1)).now).deliveries
    assert [d["id"] for d in deliveries.due()] == ["d-1"]
    assert [d["id"] for d in deliveries.of("s-1")] == ["d-1", "d-2"]


def test_the_monitor_keeps_finished_deliveries_the_days_its_setting_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.bootstrap import build_monitor
    from services.settings import SettingsError, load

    for bad in ("0", "3651", "a month"):
        monkeypatch.setenv("HOMEWARD_ALERT_RETENTION_DAYS", bad)
        with pytest.raises(SettingsError, match="HOMEWARD_ALERT_RETENTION_DAYS"):
            load(agency="monitor", data_dir=tmp_path / "monitor")
    monkeypatch.setenv("HOMEWARD_ALERT_RETENTION_DAYS", "12")
    monitor = build_monitor(load(agency="monitor", data_dir=tmp_path / "monitor"))
    try:
        assert monitor.pushed is not None
        assert monitor.pushed.retention == timedelta(days=12)
    finally:
        monitor.close()
