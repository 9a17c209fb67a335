"""Protective measures: a protective or restraining order, an anonymity order, witness
protection. Either agency records those of its own country's courts and authorities,
with the day they end; they stay with that agency. Its board lists each among the legal
matters with the days left, and a clock goes overdue once one ends unless it was renewed
(recorded again with a later end)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from events.case import Case, CaseEvent, Measure
from events.step import Body, Owner, Step
from events.values import Side


class ProtectionMeasure(Body):
    kind: Literal["protective_order", "anonymity_order", "witness_protection", "other"]
    valid_until: date


class ProtectionMeasureRecorded(CaseEvent):
    def change(self, case: Case) -> None:
        case.state.protection_measures[self.data["kind"]] = Measure(
            side=Side(self.data["side"]), valid_until=date.fromisoformat(self.data["valid_until"]))


STEPS = [
    Step("protection-measure", ProtectionMeasureRecorded, Owner.EITHER, ProtectionMeasure,
         shared=False, sided=True),
]
