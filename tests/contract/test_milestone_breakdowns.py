"""Milestone v5: the escalations a monitor alerts on (a protection incident, a risk of
re-trafficking a follow-up found) and the breakdown fields, read from the milestones the
real codec makes of the protection scenario; the monitor raises one delivery per
escalation to a subscription that asked for it, and none twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from events.case import Case, CaseEvent
from services.alerts.watch import Alerts
from services.backends.sqlite_reads import SqliteReadStore
from services.clock import FixedClock
from services.contract.codec import is_exported, milestone
from services.readside.monitor import MonitorView
from tests.harness.builders import REPATRIATION, T0, XB, Story

ALIAS = str(UUID(int=7))


def milestones(case: Case) -> list[dict[str, Any]]:
    events = [e for e in case.pending_events if isinstance(e, CaseEvent)]
    at_event: Case = events[0].mutate(None)  # type: ignore[assignment]
    out = []
    for event in events:
        if event is not events[0]:
            event.mutate(at_event)
        if is_exported(event) and (found := milestone(at_event, event)) is not None:
            out.append(found)
    return out


def protected_story() -> Story:
    story = Story()
    story.run(REPATRIATION[:REPATRIATION.index((XB, "reintegration-plan"))])
    story.run([(XB, "reintegration-plan"), (XB, "service")])
    story.at += timedelta(hours=1)
    story.step(XB, "follow-up", retrafficking_risk=True)
    story.step(XB, "protection-incident", kind="missing")
    return story


def test_escalations_and_breakdowns_cross_to_the_monitor_and_raise_alerts(
        tmp_path: Path) -> None:
    story = protected_story()
    sent = milestones(story.xa) + milestones(story.stream(XB))
    follow_ups = [m for m in sent if m["milestone"] == "follow-up-recorded"]
    assert [m.get("escalation") for m in follow_ups] == ["retrafficking-risk"]
    assert any(m["milestone"] == "protection-incident-recorded" for m in sent)
    from_xa = milestones(story.xa)
    # The person opened in the harness: female, born 1994-03-12, of XB, opened in 2026.
    assert {(m["sex"], m["age_band"], m["citizenship"]) for m in from_xa} == {
        ("female", "25-34", "XB")}
    assert all("date_of_birth" not in m and "person" not in m for m in sent)

    store = SqliteReadStore(tmp_path / "monitor.sqlite")
    clock = FixedClock(T0)
    alerts = Alerts(store, clock.now)
    alerts.subscriptions.create({"url": "https://alerts.example.org/",
                                 "events": ["protection-escalation", "retrafficking-risk"]},
                                datetime.now(tz=T0.tzinfo))
    view = MonitorView(store, escalated=alerts.escalated)
    view.record([(ALIAS, m) for m in sent])
    view.record([(ALIAS, m) for m in sent])  # redelivered: nothing new
    # Opened before consent to monitoring, so no case-opened milestone went; every milestone
    # says when the case was opened, and the referral stage is timed from it.
    assert not any(m["milestone"] == "case-opened" for m in sent)
    (corridor,) = view.corridors(T0)
    assert corridor["stages"]["referral"]["cases"] == 1
    bodies = [d["body"] for d in store.all("alert_deliveries").values()]
    assert sorted(b["event"] for b in bodies) == ["protection-escalation", "retrafficking-risk"]
    assert {b["case"] for b in bodies} == {ALIAS}
    assert all("incident" not in b for b in bodies)  # a protection incident's kind stays home
    # Both stand until a new risk assessment answers them.
    standing = {a["kind"] for a in alerts.standing()}
    assert {"protection-escalation", "retrafficking-risk"} <= standing
    story.at += timedelta(hours=1)
    story.step(XB, "risk-assessment", level="high")
    view.record([(ALIAS, m) for m in milestones(story.stream(XB))])
    assert not {"protection-escalation", "retrafficking-risk"} & {
        a["kind"] for a in alerts.standing()}
    store.close()
