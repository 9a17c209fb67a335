"""GET /v1/monitor/trends: 18 months of cases on two corridors, with sex, age band and
forms. Every published count is the true one or suppressed; none below k = 11 shows; an
attacker who collects every answer (each breakdown, several ranges) and solves the
equations they publish (a month's cells add up to its count) recovers no suppressed
cell; a number is the same whatever range it was asked in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_monitor_app
from services.api.identity.auth import issue
from services.bootstrap import build_monitor, jwt_secret
from services.clock import FixedClock
from services.settings import load
from tests.harness.monitor_history import NOW, Key, generated

K = 11


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Counter[Key]]]:
    tmp = Path(tmp_path_factory.mktemp("trends"))
    node = build_monitor(load(agency="monitor", data_dir=tmp / "monitor"), FixedClock(NOW))
    milestones, truth = generated()
    node.view.record(milestones)
    token = issue(jwt_secret(node.settings), "m-1", "monitor", ["monitor"], datetime.now(UTC))
    with TestClient(create_monitor_app(node)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, truth
    node.close()


def published(answer: dict[str, Any]) -> dict[Key, int | None]:
    """Every count of an answer, by what it counts."""
    out: dict[Key, int | None] = {}
    breakdown = answer["breakdown"]
    for c in answer["corridors"]:
        corridor = f"{c['corridor']['referring']}:{c['corridor']['receiving']}"
        for figure, table in c["figures"].items():
            for m, n in table["months"].items():
                out[(corridor, figure, m, "")] = n
            for m, cells in table.get("cells", {}).items():
                for category, n in cells.items():
                    out[(corridor, figure, m, f"{breakdown}={category}")] = n
    return out


Equation = tuple[dict[Key, int], int]  # sum of coefficient * unknown = value


def determined(equations: list[Equation], unknowns: set[Key]) -> set[Key]:
    """The unknowns whose value the equations fix: Gauss-Jordan elimination over the
    rationals, an unknown fixed when its reduced row has no other unknown."""
    order = sorted(unknowns)
    index = {key: i for i, key in enumerate(order)}
    rows = [[Fraction(0)] * len(order) + [Fraction(total)] for _, total in equations]
    for row, (terms, _) in zip(rows, equations, strict=True):
        for key, coefficient in terms.items():
            row[index[key]] += coefficient
    pivots, r = [], 0
    for col in range(len(order)):
        found = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if found is None:
            continue
        rows[r], rows[found] = rows[found], rows[r]
        rows[r] = [v / rows[r][col] for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                rows[i] = [a - rows[i][col] * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(col)
        r += 1
    fixed = set()
    for i, col in enumerate(pivots):
        if all(rows[i][j] == 0 for j in range(len(order)) if j != col):
            fixed.add(order[col])
    return fixed


def test_every_count_is_true_or_suppressed_and_none_is_recovered(answers: Any) -> None:
    client, truth = answers
    seen: dict[Key, int | None] = {}
    calls = [{}, {"from": "2025-06", "to": "2026-11"}, {"from": "2025-09", "to": "2026-02"}]
    calls += [{"from": "2025-06", "to": "2026-11", "breakdown": b}
              for b in ("sex", "age_band", "form")]
    calls += [{"from": "2025-07", "to": "2025-12", "breakdown": "sex"},
              {"corridor": "XC-NRM:XB-NRM", "from": "2025-06", "to": "2026-11",
               "breakdown": "age_band"}]
    for params in calls:
        answer = client.get("/v1/monitor/trends", params=params)
        assert answer.status_code == 200, answer.text
        for key, n in published(answer.json()).items():
            # The same number whatever the range or corridor filter it was asked with.
            assert seen.setdefault(key, n) == n, (key, params)
    assert any(n is None for n in seen.values())
    for key, n in seen.items():
        true = truth.get(key, 0) if key[1] != "overdue_clocks" else n
        if n is None:
            assert key[1] == "overdue_clocks" or truth.get(key, 0) > 0, key
        else:
            assert n == 0 or n >= K, key  # nothing below k shows
            assert n == true, key
    # The attacker's equations: a month's cells add up to its count (sex, age band).
    equations: list[Equation] = []
    unknowns = {key for key, n in seen.items() if n is None}
    rows: dict[tuple[str, str, str, str], list[Key]] = {}
    for key in seen:
        if key[3] and not key[3].startswith("form="):
            rows.setdefault((key[0], key[1], key[2], key[3].split("=")[0]), []).append(key)
    for (corridor, figure, m, _), cells in rows.items():
        total = seen[(corridor, figure, m, "")]
        hidden = [c for c in cells if seen[c] is None]
        known = sum(seen[c] or 0 for c in cells)
        terms = dict.fromkeys(hidden, 1)
        if total is None:  # the month's count is hidden too: one more unknown
            terms[(corridor, figure, m, "")] = -1
        equations.append((terms, -known if total is None else total - known))
    assert determined(equations, unknowns) == set()
    # The solver does find a lone hidden cell: it would catch a broken suppression.
    lone = next(k for k in unknowns if k[3].startswith("sex="))
    assert determined([({lone: 1}, 3)], {lone}) == {lone}


def test_the_demo_shape_has_a_year_of_figures_and_medians(answers: Any) -> None:
    client, _ = answers
    answer = client.get("/v1/monitor/trends", params={"corridor": "XA-NRM:XB-NRM",
                                                      "from": "2025-06", "to": "2026-11"})
    body = answer.json()
    assert body["months"][0] == "2025-06" and body["months"][-1] == "2026-11"
    assert len(body["months"]) == 18
    (corridor,) = body["corridors"]
    referrals = corridor["figures"]["referrals"]["months"]
    assert sum(1 for n in referrals.values() if n) >= 12
    medians = [s["decision"]["median_days"] for s in corridor["stages"].values()
               if "decision" in s and s["decision"]["cases"]]
    assert medians and all(m == 5.0 for m in medians)


@pytest.mark.parametrize("params, field", [
    ({"from": "2025-13"}, "from"), ({"to": "25-01"}, "to"),
    ({"from": "2026-05", "to": "2026-01"}, "from"), ({"by": "week"}, "by"),
    ({"breakdown": "religion"}, "breakdown"), ({"corridor": "XA-NRM"}, "corridor"),
    ({"from": "2001-01", "to": "2026-01"}, "to"),
])
def test_bad_parameters_are_refused_with_their_field(answers: Any, params: dict[str, str],
                                                     field: str) -> None:
    client, _ = answers
    answer = client.get("/v1/monitor/trends", params=params)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == f"query.{field}"
    assert client.get("/v1/monitor/trends", headers={"Authorization": ""}).status_code == 401
