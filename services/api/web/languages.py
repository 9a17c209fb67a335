"""The pages' languages: one plain JSON file per language under ui/i18n/, so an agency adds
a language by adding a file. Each maps every key of the English file to its text, and
names itself (`language.name`) and its direction (`language.dir`: ltr or rtl).

A page's language is the one asked for with `?lang=`, else the one this browser asked for
before (a cookie the server sets, which no script can read), else the first of the
browser's Accept-Language that we have, else English."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

I18N = Path(__file__).parent / "ui" / "i18n"
DEFAULT = "en"
COOKIE = "homeward-lang"
_TAG = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class Language:
    code: str
    strings: dict[str, str]

    @property
    def name(self) -> str:
        return self.strings["language.name"]

    @property
    def dir(self) -> str:
        return "rtl" if self.strings.get("language.dir") == "rtl" else "ltr"

    def text(self, key: str) -> str:
        return self.strings.get(key) or languages()[DEFAULT].strings.get(key) or key


@cache
def languages() -> dict[str, Language]:
    found = {}
    for path in sorted(I18N.glob("*.json")):
        found[path.stem] = Language(path.stem, json.loads(path.read_text(encoding="utf-8")))
    return found


def _accepted(header: str) -> list[str]:
    """Accept-Language's primary tags, most wanted first (q=0 means not at all)."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        if q > 0:
            ranked.append((-q, position, tag.split("-")[0].strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose(asked: str | None, remembered: str | None, accept: str | None) -> Language:
    known = languages()
    for code in (asked, remembered, *_accepted(accept or "")):
        if code and _TAG.match(code) and code in known:
            return known[code]
    return known[DEFAULT]
