"""The figures a benchmark measured, printed and merged into var/bench.json.

One object per figure: {"name": {"value": number, "unit": "...", "ratio": number or null,
"against": "name" or null}}, where `ratio` is value / the value of the figure named in
`against`, measured in the same run, or a ratio the figure is itself (then `against`
names its baseline). Each benchmark writes its own figures and keeps the others', so
`make bench` leaves one file with every figure of the run.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PATH = Path(os.environ.get("HOMEWARD_BENCH_FILE", "var/bench.json"))


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    ratio: float | None = None
    against: str | None = None
    target: str | None = None  # printed beside it, not written

    def as_json(self) -> dict[str, Any]:
        return {"value": round(self.value, 4), "unit": self.unit,
                "ratio": None if self.ratio is None else round(self.ratio, 4),
                "against": self.against}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def save(figures: dict[str, Figure], path: Path = PATH) -> None:
    """Print the figures and merge them into the file."""
    for name, f in figures.items():
        ratio = f"  ratio {f.ratio:.3f} against {f.against}" if f.ratio is not None else ""
        target = f"  (target {f.target})" if f.target else ""
        print(f"  {name:<34} {f.value:>12,.2f} {f.unit:<12}{ratio}{target}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        kept: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        kept = {}
    kept.update({name: f.as_json() for name, f in figures.items()})
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")
    partial.replace(path)
    print(f"  written to {path}")
