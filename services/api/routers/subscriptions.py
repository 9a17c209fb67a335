"""The monitor node's alert subscriptions: an organisation's own systems are told of
overdue hand-offs and escalations as they happen (services/alerts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from services.alerts.subscriptions import BadSubscription, Subscription
from services.alerts.watch import Alerts
from services.api.deps import MonitorNodeDep
from services.api.http.problems import Problem
from services.api.policy import AlertSubscriber

router = APIRouter(tags=["monitor"])


def _alerts(node: MonitorNodeDep) -> Alerts:
    if node.pushed is None:
        raise Problem(503, "this monitor node pushes no alerts", slug="no-alerts")
    return node.pushed


def _found(alerts: Alerts, sid: str) -> Subscription:
    found = alerts.subscriptions.get(sid)
    if found is None:
        raise Problem(404, "no such subscription", slug="not-found")
    return found


@router.post("/v1/monitor/subscriptions", status_code=201)
def subscribe(node: MonitorNodeDep, who: AlertSubscriber,
              body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    """A subscription to alerts; the secret its deliveries are signed with is in this
    answer only."""
    alerts = _alerts(node)
    try:
        made = alerts.subscriptions.create(body, node.clock.now())
    except BadSubscription as bad:
        raise Problem(422, str(bad), slug="invalid-subscription",
                      errors=[{"field": f"body.{bad.field}", "message": bad.message}]) from None
    return {**made.public(), "secret": made.secret}


@router.get("/v1/monitor/subscriptions")
def subscriptions(node: MonitorNodeDep, who: AlertSubscriber) -> list[dict[str, Any]]:
    """Every subscription, ended ones too, without their secrets."""
    return [s.public() for s in _alerts(node).subscriptions.all()]


@router.get("/v1/monitor/subscriptions/{sid}")
def subscription(sid: str, node: MonitorNodeDep, who: AlertSubscriber) -> dict[str, Any]:
    return _found(_alerts(node), sid).public()


@router.get("/v1/monitor/subscriptions/{sid}/deliveries")
def deliveries(sid: str, node: MonitorNodeDep, who: AlertSubscriber) -> list[dict[str, Any]]:
    """Each delivery of the subscription with every attempt (time, HTTP status or error)."""
    alerts = _alerts(node)
    _found(alerts, sid)
    return alerts.deliveries.of(sid)


@router.delete("/v1/monitor/subscriptions/{sid}")
def unsubscribe(sid: str, node: MonitorNodeDep, who: AlertSubscriber) -> dict[str, Any]:
    """Ends the subscription: nothing more is sent for it, a retry due included."""
    alerts = _alerts(node)
    _found(alerts, sid)
    ended = alerts.subscriptions.end(sid, node.clock.now())
    assert ended is not None
    return ended.public()
