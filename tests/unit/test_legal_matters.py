"""A case's open legal matters, as values (`legal_items`) and in English (`legal_matters`,
written from them): the English is what the board and the API always said, and every kind
of item reads in each page language as the pages write it (common.js `legalMatter`): the
template "legal.<kind>" for the values it has, each role, stage and kind by its own word
"value.<word>". A kind added without its words fails here."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import get_args

from events.case import Case
from events.progress import LegalItem, LegalKind, legal_items, legal_matter, legal_matters
from events.steps.justice import LegalProceeding, ProceedingUpdate
from events.steps.measures import ProtectionMeasure
from events.steps.penalty import PenaltyMatter
from services.api.web.languages import languages
from tests.harness.builders import T0, XA
from tests.harness.given import R, given, upto

NOW = T0 + timedelta(days=10, hours=5)


def day(n: int) -> str:
    return str((T0 + timedelta(days=n)).date())


def every_matter() -> Case:
    """The referring agency's stream with a matter of every kind: proceedings with and
    without a stage and a hearing (and one closed), legal assistance, a compensation claim,
    protection measures ending in 30, 1 and 0 days and one ended, penalty matters tied to
    the exploitation or not."""
    story = given([
        *upto("acceptance"),
        R("legal-proceeding", reference="CR-2026-1187", role="witness"),
        R("proceeding-update", reference="CR-2026-1187", stage="trial", next_hearing_on=day(40)),
        R("legal-proceeding", reference="CR-2026-2040", role="party"),
        R("proceeding-update", reference="CR-2026-2040", stage="investigation",
          next_hearing_on=None),
        R("legal-proceeding", reference="CR-2026-3001", role="witness"),
        R("legal-proceeding", reference="CR-2025-0007", role="party"),
        R("proceeding-closure", reference="CR-2025-0007"),
        R("legal-assistance", from_date=day(2)),
        R("compensation-claim"),
        R("protection-measure", kind="protective_order", valid_until=day(11)),
        R("protection-measure", kind="anonymity_order", valid_until=day(40)),
        R("protection-measure", kind="witness_protection", valid_until=day(9)),
        R("protection-measure", kind="other", valid_until=day(10)),
        R("penalty-matter", kind="removal_order"),
        R("penalty-matter", kind="fine", linked_to_exploitation=False),
    ])
    return story.stream(XA)


def test_the_english_is_what_it_was() -> None:
    case = every_matter()

    assert legal_matters(case, NOW) == [
        "proceeding CR-2026-1187 (witness, trial, next hearing 2026-12-12)",
        "proceeding CR-2026-2040 (party, investigation)",
        "proceeding CR-2026-3001 (witness)",
        "legal assistance from 2026-11-04",
        "compensation claim pending",
        "anonymity order until 2026-12-12, expires in 30 days",
        "other until 2026-11-12, expires in 0 days",
        "protective order until 2026-11-13, expires in 1 day",
        "witness protection until 2026-11-11, ended",
        "fine open",
        "removal order open, linked to the exploitation",
    ]
    assert legal_matters(case) == [
        "proceeding CR-2026-1187 (witness, trial, next hearing 2026-12-12)",
        "proceeding CR-2026-2040 (party, investigation)",
        "proceeding CR-2026-3001 (witness)",
        "legal assistance from 2026-11-04",
        "compensation claim pending",
        "anonymity order until 2026-12-12",
        "other until 2026-11-12",
        "protective order until 2026-11-13",
        "witness protection until 2026-11-11",
        "fine open",
        "removal order open, linked to the exploitation",
    ]


def test_the_values_are_the_matters_item_for_item() -> None:
    items = legal_items(every_matter(), NOW)

    assert [legal_matter(i) for i in items] == legal_matters(every_matter(), NOW)
    assert items[0] == LegalItem("proceeding", reference="CR-2026-1187", role="witness",
                                 stage="trial", next_hearing_on=(T0 + timedelta(days=40)).date())
    assert [(i.measure, i.days_left) for i in items if i.kind == "protection_measure"] == [
        ("anonymity_order", 30), ("other", 0), ("protective_order", 1),
        ("witness_protection", -1)]
    assert [(i.matter, i.linked_to_exploitation) for i in items if i.kind == "penalty_matter"] == [
        ("fine", False), ("removal_order", True)]


def template_key(item: LegalItem) -> str:
    """The key of the template the pages write `item` with (common.js `legalMatter`)."""
    key = f"legal.{item.kind}"
    if item.kind == "proceeding":
        return key + (".stage" if item.stage else "") + (".hearing" if item.next_hearing_on else "")
    if item.kind == "protection_measure" and item.days_left is not None:
        return key + (".ended" if item.days_left < 0 else ".left")
    if item.kind == "penalty_matter" and item.linked_to_exploitation:
        return key + ".linked"
    return key


def every_item() -> list[LegalItem]:
    """Every kind of item in every form the pages tell apart: the story's, at `NOW` and
    without a time, and a proceeding with a hearing but no stage."""
    case = every_matter()
    return [*legal_items(case, NOW), *legal_items(case),
            LegalItem("proceeding", reference="CR-1", role="party", next_hearing_on=NOW.date())]


def literal(field: str) -> tuple[str, ...]:
    """The values a step's field may take, as its body declares them."""
    bodies = {"role": LegalProceeding, "stage": ProceedingUpdate, "measure": ProtectionMeasure,
              "matter": PenaltyMatter}
    name = "kind" if field in {"measure", "matter"} else field
    return get_args(bodies[field].model_fields[name].annotation)


def test_the_story_has_every_kind_in_every_form() -> None:
    items = every_item()
    assert {i.kind for i in items} == set(get_args(LegalKind))
    assert {template_key(i) for i in items} == {
        "legal.proceeding", "legal.proceeding.stage", "legal.proceeding.hearing",
        "legal.proceeding.stage.hearing", "legal.legal_assistance", "legal.compensation_claim",
        "legal.protection_measure", "legal.protection_measure.left",
        "legal.protection_measure.ended", "legal.penalty_matter", "legal.penalty_matter.linked"}
    assert {i.measure for i in items if i.measure} == set(literal("measure"))


def test_every_kind_of_item_is_written_in_every_language() -> None:
    keys = {template_key(i) for i in every_item()}
    words = {f"value.{w}" for field in ("role", "stage", "measure", "matter") for w in literal(field)}
    for code, language in languages().items():
        strings = language.strings
        assert sorted(k for k in keys | words if k not in strings) == [], code
        # Each template names only the values the pages fill in.
        for key in keys:
            assert set(re.findall(r"\{(\w+)\}", strings[key])) <= {
                "reference", "role", "stage", "hearing", "since", "measure", "until", "in",
                "matter"}, (code, key)
        # The same values as the English template: none is left out in a language.
        for key in keys:
            assert (set(re.findall(r"\{(\w+)\}", strings[key]))
                    == set(re.findall(r"\{(\w+)\}", languages()["en"].strings[key]))), (code, key)
