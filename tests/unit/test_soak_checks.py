"""The soak's schedule and its fact check, on data: a seed replays the same faults, and a
fact missing, recorded twice or without its receipt is named."""

from __future__ import annotations

import random
from typing import Any

from bench.soak.checks import _direction
from bench.soak.faults import KINDS, schedule
from bench.soak.traffic import Walk


def test_a_seed_replays_the_same_faults_each_kind_once_a_round_within_the_window() -> None:
    first = schedule(random.Random(7), 600, 3)
    assert first == schedule(random.Random(7), 600, 3)
    assert sorted(f.kind for f in first) == sorted(KINDS * 3)
    assert all(60 <= f.at <= 420 for f in first)
    assert [f.at for f in first] == sorted(f.at for f in first)
    without = schedule(random.Random(7), 600, 1, tuple(k for k in KINDS if k != "malformed"))
    assert "malformed" not in {f.kind for f in without}


def event(seq: int, kind: str, by: str, received: str | None = None,
          delivered: bool = True) -> dict[str, Any]:
    return {"seq": seq, "type": kind, "recorded_by": by, "message_id": received,
            "delivered_at": "2026-12-07T10:00:00Z" if delivered and not received else None}


SENT = [event(1, "CaseOpened", "XA-NRM"), event(2, "ConsentRecorded", "XA-NRM"),
        event(3, "ReferralSent", "XA-NRM")]
GOT = [event(1, "CaseOpened", "XA-NRM", "m1"), event(2, "ConsentRecorded", "XA-NRM", "m2"),
       event(3, "ReferralSent", "XA-NRM", "m3")]


def check(own: list[dict[str, Any]], partner: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    _direction(Walk(0, {}, []), "XA-NRM", own, partner, problems)
    return problems


def test_every_fact_at_the_partner_once_and_receipted_passes() -> None:
    assert check(SENT, GOT) == []


def test_a_fact_missing_twice_or_unreceipted_is_named() -> None:
    assert "the partner holds" in check(SENT, GOT[:2])[0]
    twice = check(SENT, [*GOT, event(4, "ReferralSent", "XA-NRM", "m3")])
    assert any("more than once" in p for p in twice)
    unreceipted = check([*SENT[:2], event(3, "ReferralSent", "XA-NRM", delivered=False)], GOT)
    assert unreceipted == ["case 0: XA-NRM's ReferralSent (seq 3) has no receipt"]
