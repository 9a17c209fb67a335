"""Which agencies a case may be referred to: the corridors the node's trust directory lists.

A case opened towards an agency with no corridor from this one could never reach it (the
partner's inbox refuses its messages as `no-corridor`), so the opening is refused at once.
A node whose directory lists no corridor from this agency (not yet in a federation, or
without a directory) accepts any receiving agency, as the schema allows.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from services.api.http.problems import Problem
from services.exchange.directory import DirectoryFile, directory_path
from services.settings import Settings


@lru_cache(maxsize=64)
def _directory_file(path: Path) -> DirectoryFile:
    return DirectoryFile(path)  # re-reads the file only when it changed


def receiving_agencies(settings: Settings) -> set[str]:
    """The agencies the directory lists as receiving on a corridor from this agency."""
    directory = _directory_file(directory_path(settings.home, settings.directory)).current()
    return {c.receiving for c in directory.corridors if c.referring == settings.agency}


def check_corridor(settings: Settings, receiving: str) -> None:
    """Problem 422 naming `receiving_agency` when the directory has corridors from this
    agency but none to `receiving`."""
    partners = receiving_agencies(settings)
    # Opening a case with oneself is the domain's refusal (step-owner), with its own reason.
    if partners and receiving not in partners and receiving != settings.agency:
        raise Problem(
            422, f"no corridor from {settings.agency} to {receiving} in the trust directory",
            slug="invalid",
            errors=[{"field": "receiving_agency",
                     "message": f"must be an agency on a corridor from {settings.agency}: "
                                f"{', '.join(sorted(partners))}"}],
        )
