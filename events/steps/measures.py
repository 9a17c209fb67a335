"""Protective measures: a protective or restraining order, an anonymity order, witness
protection. Either agency records those of its own country's courts and authorities,
with the day they end; they stay with that agency unless the person agreed to share one
(`shared_with_consent`), which then crosses with its kind and end only. The board lists
each among the legal matters with the days left, and a clock goes overdue once one ends
unless it was renewed (recorded again with a later end)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from events.case import Case, CaseEvent, Measure
from events.step import Body, Owner, Step
from events.values import Side


class ProtectionMeasure(Body):
    kind: Literal["protective_order", "anonymity_order", "witness_protection", "other"]
    valid_until: date
    # The person agreed that the partner agency learns of it (its kind and end, no more).
    shared_with_consent: bool | None = None


def consented_to_share(data: Mapping[str, Any]) -> bool:
    return data.get("shared_with_consent") is True


class ProtectionMeasureRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.protection_measures[self.data["kind"]] = Measure(
            side=Side(self.data["side"]), valid_until=date.fromisoformat(self.data["valid_until"]))


STEPS = [
    Step("protection-measure", ProtectionMeasureRecorded, Owner.EITHER, ProtectionMeasure,
         sided=True, crosses=consented_to_share),
]
