"""Monitor history: milestones of cases over 18 months on two corridors, with sex, age
band and forms, and the true count of each figure, month and category (the trends' and
the corridors page's tests)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from events.profile import AGE_BANDS, FORMS, SEXES

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START = datetime(2025, 6, 1, tzinfo=UTC)
CORRIDORS = [("XA-NRM", "XB-NRM"), ("XC-NRM", "XB-NRM")]
K = 11
Key = tuple[str, str, str, str]  # corridor, figure, month, category ("" for the month)


def month(at: datetime) -> str:
    return at.strftime("%Y-%m")


def generated(n: int = 700, seed: int = 24) -> tuple[list[tuple[str, dict[str, Any]]],
                                                     Counter[Key]]:
    """Milestones of `n` cases, and the true count of each figure, month and category."""
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []
    truth: Counter[Key] = Counter()
    for i in range(n):
        referring, receiving = CORRIDORS[0] if rng.random() < 0.75 else CORRIDORS[1]
        case = str(uuid5(NAMESPACE_URL, f"trend-{i}"))
        profile = {"sex": rng.choice(SEXES), "age_band": rng.choice(AGE_BANDS)[0],
                   "forms": sorted(rng.sample(FORMS, rng.choice((1, 1, 1, 2))),
                                   key=FORMS.index)}
        if rng.random() < 0.1:
            profile.pop("age_band")
        opened = START + timedelta(days=rng.uniform(0, 520))
        steps = [("case-opened", "opened", opened), ("referral-sent", "referred",
                                                      opened + timedelta(days=1))]
        steps.append(("referral-acknowledged", "acknowledged", opened + timedelta(days=2)))
        if rng.random() < 0.8:
            steps.append(("referral-accepted", "accepted", opened + timedelta(days=6)))
            steps.append(("departure-confirmed", "in_transit", opened + timedelta(days=30)))
            if rng.random() < 0.1:
                steps.append(("transit-incident-recorded", "on_hold",
                              opened + timedelta(days=30, hours=3)))
            steps.append(("arrival-confirmed", "arrived", opened + timedelta(days=31)))
            steps.append(("reintegration-plan-agreed", "reintegrating",
                          opened + timedelta(days=40)))
            escalated = False
            if rng.random() < 0.15:
                escalated = True
                steps.append(("protection-incident-recorded", "reintegrating",
                              opened + timedelta(days=60)))
            if rng.random() < 0.2:
                escalated = True
                steps.append(("follow-up-recorded", "follow_up", opened + timedelta(days=120)))
            if not escalated:  # most cases close once the person is settled
                steps.append(("case-closed", "closed", opened + timedelta(days=130)))
        else:
            steps.append(("referral-declined", "declined", opened + timedelta(days=6)))
        corridor = f"{referring}:{receiving}"
        for name, status, at in steps:
            if at > NOW:
                break
            payload: dict[str, Any] = {
                "corridor": {"referring": referring, "receiving": receiving},
                "kind": "repatriation", "milestone": name, "status": status,
                "occurred_at": at.isoformat(), "minor": profile.get("age_band") in (
                    "0-11", "12-17"), **profile}
            if name == "departure-confirmed":
                payload["due_at"] = (at + timedelta(hours=6)).isoformat()
            if name == "transit-incident-recorded":
                payload["incident"] = "missing"
            risk = name == "follow-up-recorded"
            if risk:
                payload["escalation"] = "retrafficking-risk"
            out.append((case, payload))
            figure = FIGURE_OF.get(name)
            if figure is None:
                continue
            truth[(corridor, figure, month(at), "")] += 1
            for category, values in (("sex", [profile["sex"]]),
                                     ("age_band", [profile.get("age_band", "unknown")]),
                                     ("form", profile["forms"])):
                for value in values:
                    truth[(corridor, figure, month(at), f"{category}={value}")] += 1
    return out, truth


FIGURE_OF = {"referral-sent": "referrals", "referral-accepted": "acceptances",
             "referral-declined": "declines", "departure-confirmed": "departures",
             "arrival-confirmed": "arrivals", "transit-incident-recorded": "transit_incidents",
             "protection-incident-recorded": "protection_incidents",
             "follow-up-recorded": "retrafficking_escalations"}
