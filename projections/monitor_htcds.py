"""The monitor's statistics in the shape of the Human Trafficking Case Data Standard
(HTCDS 2.0): one row per corridor and month, the cases known at the month's end counted
by their HTCDS status (`cas_Status`), gender (`prs_Gender`), age band, form of
exploitation (`vic_TypeOfExploitation`) and citizenship (`prs_Citizenship`), with the
referring and referred organisations (`cas_ReferringOrganisation`,
`cas_ReferredOrganisation`) and the country of exploitation (`hte_Country`: the referring
agency's country, where the person was identified).

A column is `<HTCDS field>:<value name>` (docs/contract.md lists the fields and values
used). Within a row each group of columns splits the row's `cases`: a count below k is
suppressed, and a lone suppressed cell of a group takes the next smallest with it
(`suppress_cells`). A row depends only on its corridor and month, never on the range asked
for, and no total over the range is published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from events.profile import AGE_BANDS, FORMS
from projections.monitor import suppress_cells
from projections.monitor_series import _months, status_at_month_end
from projections.projection import Doc

STANDARD = "HTCDS 2.0 (github.com/UNMigration/HTCDS, HTCDS Field Standards 2.0)"
STATUS = "cas_Status"
GENDER = "prs_Gender"
AGE = "AgeBand"  # no HTCDS field holds a band (vic_AgeWhenTrafficked is an age)
FORM = "vic_TypeOfExploitation"
CITIZENSHIP = "prs_Citizenship"
STATUSES = ("Active", "FollowUp", "Closed", "ClosedReferred")
GENDERS = {"female": "Feminine", "male": "Masculine", "other": "NonConforming",
           "unknown": "NonSpecifiedUnknown"}
FORMS_HTCDS = {"sexual": "SexualExploitation", "labour": "ForcedLabour",
               "domestic_servitude": "Servitude", "forced_marriage": "ForcedMarriage",
               "forced_criminality": "Other", "begging": "ForcedBegging",
               "organ_removal": "OrganRemoval", "other": "Other"}
UNKNOWN = "Unknown"
FIXED = ("period", "cas_ReferringOrganisation", "cas_ReferredOrganisation", "hte_Type",
         "hte_Country", "cases")


def htcds_at_month_end(doc: Doc, month: str) -> str | None:
    """The case's HTCDS status at the end of `month` (None: not known yet)."""
    told = [status for at, status in doc.get("htcds", []) if at[:7] <= month]
    if told:
        return str(told[-1])
    status = status_at_month_end(doc, month)
    if status is None:
        return None
    return {"closed": "Closed", "follow_up": "FollowUp"}.get(status, "Active")


def groups() -> dict[str, tuple[str, ...]]:
    """Each group's values, in the order of their columns (citizenship: as found)."""
    return {STATUS: STATUSES, GENDER: tuple(GENDERS.values()),
            AGE: (*(band for band, _ in AGE_BANDS), UNKNOWN),
            FORM: (*dict.fromkeys(FORMS_HTCDS[f] for f in FORMS), UNKNOWN)}


def values_of(doc: Doc, status: str) -> dict[str, list[str]]:
    profile = doc.get("profile", {})
    forms = sorted({FORMS_HTCDS[f] for f in profile.get("forms") or []}) or [UNKNOWN]
    return {STATUS: [status], GENDER: [GENDERS.get(profile.get("sex", ""), "NonSpecifiedUnknown")],
            AGE: [profile.get("age_band") or UNKNOWN], FORM: forms,
            CITIZENSHIP: [profile.get("citizenship") or UNKNOWN]}


def htcds_rows(docs: Mapping[str, Doc], first: str, last: str, k: int
               ) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows): a row per corridor with cases and month from `first` to `last`."""
    by_corridor: dict[tuple[str, str], list[Doc]] = {}
    for _, doc in sorted(docs.items()):
        c = doc["corridor"]
        by_corridor.setdefault((c["referring"], c["receiving"]), []).append(doc)
    citizenships = sorted({doc.get("profile", {}).get("citizenship") or UNKNOWN
                           for doc in docs.values()})
    all_groups = {**groups(), CITIZENSHIP: tuple(citizenships)}
    columns = [*FIXED, *(f"{field}:{value}" for field, values in all_groups.items()
                         for value in values)]
    rows = []
    for (referring, receiving), cases in sorted(by_corridor.items()):
        for month in _months(first, last):
            counts = {field: dict.fromkeys(values, 0) for field, values in all_groups.items()}
            known = 0
            for doc in cases:
                status = htcds_at_month_end(doc, month)
                if status is None:
                    continue
                known += 1
                for field, values in values_of(doc, status).items():
                    for value in values:
                        counts[field][value] += 1
            if not known:
                continue
            row: dict[str, Any] = {
                "period": month, "cas_ReferringOrganisation": referring,
                "cas_ReferredOrganisation": receiving, "hte_Type": "Exploitation",
                "hte_Country": referring[:2], "cases": None if known < k else known}
            for field, cells in counts.items():
                for value, n in suppress_cells(cells, k).items():
                    row[f"{field}:{value}"] = n
            rows.append(row)
    return columns, rows
