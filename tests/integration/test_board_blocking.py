"""For every rule that can hold up a case's next step, the status board shows the
blocking item with the agency that owes it, and the item goes once the precondition
is met. (The fold is the same on both stores; the store tests run on both.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from projections.board import BoardFilters
from services.bootstrap import read_models
from services.readside.queries import ReadModels
from tests.harness.builders import T0, XA, XB
from tests.harness.referring_node import READY, ReferringNode
from tests.harness.stores import sqlite_env

BASE = ["consent", "referral", "acknowledgement", "acceptance", "return-decision",
        "travel-document", "reception"]


@dataclass(frozen=True)
class Do:
    path: str
    by: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)


def steps(*paths: str) -> list[Do]:
    out = []
    for path in paths:
        if path == "risk-assessment*":
            out += [Do("risk-assessment", XA), Do("risk-assessment", XB)]
        else:
            out.append(Do(path))
    return out


@dataclass(frozen=True)
class Blocked:
    given: list[Do]
    rule: str
    owed_by: str
    detail: str
    fix: list[Do]
    minor: bool = False
    days_later: int = 0  # the query's clock, and the fix's, after T0


CASES = {
    "consent-required": Blocked([], "consent-required", XA, "consent to refer", steps("consent")),
    "asylum-guard": Blocked(steps("consent", "asylum-claim"), "asylum-guard", XA, "asylum claim",
                            steps("asylum-claim-closure")),
    "referral": Blocked(steps("consent"), "sequence", XA, "the referral", steps("referral")),
    "acknowledgement": Blocked(steps("consent", "referral"), "sequence", XB, "acknowledgement",
                               steps("acknowledgement")),
    "acceptance-required": Blocked(steps("consent", "referral", "acknowledgement"),
                                   "acceptance-required", XB, "acceptance", steps("acceptance")),
    "return-consent-required": Blocked(
        steps(*[p for p in READY if p != "return-decision"]), "return-consent-required", XA,
        "return decision", steps("return-decision")),
    "referring risk missing": Blocked(
        [*steps(*BASE), Do("risk-assessment", XB)], "risk-assessment-required", XA,
        "referring risk assessment", [Do("risk-assessment", XA)]),
    "receiving risk missing": Blocked(
        [*steps(*BASE), Do("risk-assessment", XA)], "risk-assessment-required", XB,
        "receiving risk assessment", [Do("risk-assessment", XB)]),
    "critical risk": Blocked(
        [*steps(*BASE), Do("risk-assessment", XB), Do("risk-assessment", XA, {"level": "critical"})],
        "risk-assessment-required", XA, "critical",
        [Do("risk-assessment", XA, {"justification": "the network was dismantled"})]),
    # The local guard refuses this; only a partner's message can bring it.
    "partner's high risk without a plan": Blocked(
        [*steps(*BASE), Do("risk-assessment", XA),
         Do("risk-assessment", XB, {"level": "high", "safety_plan": None})],
        "risk-assessment-required", XB, "safety plan",
        [Do("risk-assessment", XB, {"level": "high"})]),
    "expired risk": Blocked(
        [*steps(*BASE), Do("risk-assessment", XB),
         Do("risk-assessment", XA, {"valid_until": str((T0 + timedelta(days=1)).date())})],
        "risk-assessment-required", XA, "expired 2 days ago",
        [Do("risk-assessment", XA)], days_later=3),
    "best interests": Blocked(
        steps(*READY, "family-tracing", "caregiver-confirmation"), "minor-safeguards", XA, "best-interests",
        steps("best-interests-determination"), minor=True),
    "caregiver": Blocked(
        steps(*READY, "best-interests-determination"), "minor-safeguards", XB, "caregiver",
        steps("family-tracing", "caregiver-confirmation"), minor=True),
    "proceedings-clearance": Blocked(steps(*READY, "legal-proceeding"), "proceedings-clearance",
                                     XA, "clearance", steps("proceedings-clearance")),
    "travel-document-valid": Blocked(steps(*[p for p in READY if p != "travel-document"]),
                                     "travel-document-valid", XB, "travel document",
                                     steps("travel-document")),
    "reception-required": Blocked(steps(*[p for p in READY if p != "reception"]),
                                  "reception-required", XB, "reception", steps("reception")),
    "transport plan": Blocked(steps(*READY), "sequence", XA, "transport plan",
                              steps("transport")),
    "departure": Blocked(steps(*READY, "transport"), "sequence", XA, "departure",
                         steps("departure")),
    "arrival": Blocked(steps(*READY, "transport", "departure"), "sequence", XB, "arrival",
                       steps("arrival")),
    "reintegration plan": Blocked(steps(*READY, "transport", "departure", "arrival"),
                                  "sequence", XB, "reintegration plan",
                                  steps("reintegration-plan")),
    "consent-withdrawal-halts": Blocked(
        steps(*READY, "transport", "consent-withdrawal"), "consent-withdrawal-halts", XA,
        "renewed consent", [Do("consent", changes={"scopes": ["return"]})]),
}


@pytest.fixture
def referring(tmp_path: Path) -> Iterator[tuple[ReferringNode, ReadModels]]:
    referring = ReferringNode(sqlite_env(tmp_path / "events.sqlite"))
    models = read_models(referring.app)
    yield referring, models
    models.close()


def items(models: ReadModels, now: Any) -> list[tuple[str, str, str]]:
    models.refresh()
    [entry] = models.board(BoardFilters(), now).items
    return [(i.rule, i.owed_by, i.detail) for i in entry.blocking]


@pytest.mark.parametrize("name", list(CASES))
def test_the_board_shows_what_blocks_a_case_and_who_owes_it(
    name: str, referring: tuple[ReferringNode, ReadModels],
) -> None:
    node, models = referring
    case = CASES[name]
    case_id = node.open(minor=case.minor)
    for do in case.given:
        node.step(case_id, do.path, by=do.by, **do.changes)
    now = node.clock.advance(days=case.days_later)

    def matching() -> list[tuple[str, str, str]]:
        return [i for i in items(models, now)
                if i[0] == case.rule and i[1] == case.owed_by and case.detail in i[2]]

    assert len(matching()) == 1, items(models, now)
    for do in case.fix:
        node.step(case_id, do.path, by=do.by, **do.changes)
    assert matching() == [], items(models, now)
