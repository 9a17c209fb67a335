"""`homeward audit verify` starts worker processes only where they pay: a store too small
for them is checked in the process itself, unless the operator asked for workers."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from services.anchors import sweep as sweep_module
from services.anchors.sweep import IN_PROCESS_BELOW, Sweep


class Cases:
    """Stands in for a store's audit: its case ids, and no case to check."""

    def __init__(self, count: int) -> None:
        self.ids = [uuid4() for _ in range(count)]

    def case_ids(self) -> list[UUID]:
        return self.ids

    def range(self, case_ids: list[UUID]) -> list[Any]:
        return []


def opener() -> Any:
    return Cases(0)


@pytest.fixture(autouse=True)
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_module, "cores", lambda: 2)


@pytest.mark.parametrize(("cases", "workers", "processes"), [
    (20, 0, 1),                     # small, workers left to the cores: this process
    (IN_PROCESS_BELOW - 1, 0, 1),
    (IN_PROCESS_BELOW, 0, 2),       # large enough: one a core
    (20, 2, 2),                     # asked for: given, however small the store
    (IN_PROCESS_BELOW, 1, 1),
])
def test_workers_are_started_only_where_they_pay_or_were_asked_for(
        cases: int, workers: int, processes: int) -> None:
    with Sweep(Cases(cases), opener, workers=workers) as sweep:  # type: ignore[arg-type]
        assert sweep.processes == processes
        assert (sweep._pool is not None) == (processes > 1)
        assert list(sweep) == []
