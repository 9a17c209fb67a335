"""Every language file has every key, and English has a key for every word the pages
show: each step, rule, status, event, field and choice of the step bodies' schemas, and
each key the templates and scripts use. A step added without its words fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from events import casework
from events.readiness import RETURN_PRECONDITIONS
from events.rules import CASEWORK_RULES, RULES
from events.steps import BY_EVENT, STEPS, OpenCase
from events.steps.opening import CaseOpened
from events.values import Side, Status
from projections.monitor import STAGES
from services.api.web.languages import I18N, choose, languages
from services.api.web.pages import SCRIPTS

UI = I18N.parent


def schema_words(schema: dict[str, Any], defs: dict[str, Any]) -> Iterator[str]:
    """field.<name> for each property, value.<v> for each choice, through $ref and anyOf."""
    if "$ref" in schema:
        yield from schema_words(defs[schema["$ref"].split("/")[-1]], defs)
    for part in schema.get("anyOf", []):
        yield from schema_words(part, defs)
    for value in [*schema.get("enum", []), *([schema["const"]] if "const" in schema else [])]:
        yield f"value.{value}"
    if "items" in schema:
        yield from schema_words(schema["items"], defs)
    for name, prop in schema.get("properties", {}).items():
        yield f"field.{name}"
        yield from schema_words(prop, defs)


# The statuses in which the next step in order is what blocks a case (events.progress).
SEQUENCE_STATUSES = [Status.OPENED, Status.REFERRED, Status.READY, Status.SCHEDULED,
                     Status.IN_TRANSIT, Status.ARRIVED, Status.ACCEPTED]


def blocking_rules() -> set[str]:
    """Every code a blocking item can carry: each rule, each return precondition's, and the
    holds that are not refusals."""
    return {*RULES, *CASEWORK_RULES, *(p.rule for p in RETURN_PRECONDITIONS),
            "transit-incident"}


def needed() -> set[str]:
    keys = {f"step.{path}" for path in STEPS}
    keys |= {f"rule.{code}" for code in (*RULES, *CASEWORK_RULES)}
    keys |= {f"status.{s.value}" for s in Status} | {f"value.{s.value}" for s in Side}
    keys |= {f"event.{e.__name__}" for e in [*BY_EVENT, CaseOpened, *casework.EVENTS]}
    keys |= {f"need.{code}" for code in blocking_rules()}  # what a blocking item reads as
    keys |= {f"need.sequence.{s.value}" for s in SEQUENCE_STATUSES}
    for schema in [OpenCase.model_json_schema(), *(s.body.model_json_schema() for s in STEPS.values())]:
        keys |= set(schema_words(schema, schema.get("$defs", {})))
    keys -= {"field.id"}  # the server names a new case: no field for it
    keys |= {f"page.{name}" for name in SCRIPTS} | {f"stage.{stage}" for stage, _, _ in STAGES}
    for path in UI.glob("*.html"):
        keys |= set(re.findall(r"\{\{t:([a-z0-9_.-]+)\}\}", path.read_text()))
    for path in UI.glob("*.js"):
        keys |= set(re.findall(r"""\bt\("([a-z0-9_. -]+)"[,)]""", path.read_text()))
    return keys


def test_there_are_four_languages_one_right_to_left() -> None:
    assert {code: lang.dir for code, lang in languages().items()} == {
        "ar": "rtl", "en": "ltr", "es": "ltr", "fr": "ltr"}


def test_english_has_every_word_the_pages_show() -> None:
    keys = needed()
    assert len(keys) > 300
    assert sorted(keys - set(languages()["en"].strings)) == []


def test_every_language_has_every_key_of_english_and_no_other() -> None:
    english = set(languages()["en"].strings)
    for code, language in languages().items():
        assert sorted(english - set(language.strings)) == [], code
        assert sorted(set(language.strings) - english) == [], code
        assert all(isinstance(v, str) and v.strip() for v in language.strings.values()), code


def test_translations_keep_their_placeholders() -> None:
    english = languages()["en"].strings
    for code, language in languages().items():
        for key, text in english.items():
            assert set(re.findall(r"\{(\w+)\}", language.strings[key])) == \
                set(re.findall(r"\{(\w+)\}", text)), (code, key)


def test_the_language_is_asked_for_then_remembered_then_the_browsers_then_english() -> None:
    assert choose("ar", "fr", "es").code == "ar"
    assert choose(None, "fr", "es").code == "fr"
    assert choose(None, None, "de-DE, es-MX;q=0.8, fr;q=0.5").code == "es"
    assert choose(None, None, "fr;q=0, ar;q=0.1").code == "ar"
    assert choose("xx", "../en", "de").code == "en"
    assert choose(None, None, None).code == "en"
