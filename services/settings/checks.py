"""A setting that names a file: it must be one."""

from __future__ import annotations

from pathlib import Path


def readable_file(value: Path | None) -> Path | None:
    if value is not None and not value.is_file():
        raise ValueError(f"{value} is not a file")
    return value
