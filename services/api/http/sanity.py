"""Bounds the schema does not state: dates a case can plausibly hold.

Deadlines are computed from the dates a step records (arrival + 30 days, ...);
a date near the end of the calendar would make that arithmetic overflow, so
every date in a request body must lie between 1900 and 2199.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from services.api.http.problems import Problem

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


def out_of_range(model: BaseModel, prefix: str = "") -> list[dict[str, str]]:
    errors = []
    for name, value in model:
        if isinstance(value, BaseModel):
            errors += out_of_range(value, f"{prefix}{name}.")
        elif isinstance(value, date):  # a datetime is a date too
            day = value.date() if isinstance(value, datetime) else value
            if not EARLIEST <= day <= LATEST:
                errors.append({"field": f"{prefix}{name}",
                               "message": f"must lie between {EARLIEST} and {LATEST}"})
    return errors


def check_dates(model: BaseModel | None) -> None:
    errors = out_of_range(model) if model is not None else []
    if errors:
        raise Problem(422, "a date is out of range", slug="invalid", errors=errors)
