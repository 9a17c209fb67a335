"""What a milestone may say of the person for statistics' breakdowns, and nothing more:
the sex, an age band on the day the case was opened, the nationality and the forms of
exploitation (the trafficking profile's). A monitor keeps them only in aggregates."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

# The forms of exploitation, after the Human Trafficking Case Data Standard's list
# (vic_TypeOfExploitation; services/readside/htcds.py maps them to its value names).
ExploitationForm = Literal["sexual", "labour", "domestic_servitude", "forced_marriage",
                           "forced_criminality", "begging", "organ_removal", "other"]
FORMS: tuple[str, ...] = get_args(ExploitationForm)
# (band, lowest age in it), youngest first; the last band has no upper bound.
AGE_BANDS = (("0-11", 0), ("12-17", 12), ("18-24", 18), ("25-34", 25), ("35-49", 35),
             ("50+", 50))
SEXES = ("female", "male", "other", "unknown")


def age_band(birth: date, on: date) -> str:
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return [band for band, lowest in AGE_BANDS if age >= lowest][-1] if age >= 0 else "0-11"


def breakdown_fields(person: dict[str, Any] | None, opened_on: date | None,
                     forms: list[str] | None) -> dict[str, Any]:
    """The breakdown fields a milestone carries: only those the agency knows."""
    out: dict[str, Any] = {}
    if person:
        if person.get("sex") in SEXES:
            out["sex"] = person["sex"]
        if isinstance(person.get("nationality"), str):
            out["citizenship"] = person["nationality"]
        if isinstance(person.get("date_of_birth"), str) and opened_on is not None:
            out["age_band"] = age_band(date.fromisoformat(person["date_of_birth"]), opened_on)
    if forms:
        out["forms"] = sorted(set(forms), key=FORMS.index)
    return out
