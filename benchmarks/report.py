"""Benchmark rows: percentiles, the printed table and results/latest.json."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

OVER = "OVER BUDGET"
UNDER = "BELOW BUDGET"


@dataclass(frozen=True)
class Row:
    """One measured number; `measured_at` is set only when it was recorded earlier (cached build)."""

    name: str
    backend: str
    value: float
    unit: str
    budget: float | None = None
    measured_at: str | None = None

    @property
    def ok(self) -> str:
        """ "ok" within budget, "OVER BUDGET" outside it, "-" when there is no budget.

        A rate's budget (a unit per second) is a floor; any other budget is a ceiling.
        """
        if self.budget is None:
            return "-"
        within = (
            self.value >= self.budget if self.unit.endswith("/s") else self.value <= self.budget
        )
        return "ok" if within else (UNDER if self.unit.endswith("/s") else OVER)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 30 samples is the 29th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _number(value: float | None, unit: str) -> str:
    """Format a value for the table: whole numbers for rates, one decimal otherwise."""
    if value is None:
        return "-"
    if unit.endswith("/s"):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _budget(value: float) -> str:
    """A budget as written in the code: 50, 2,000, 1.5."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def format_table(rows: list[Row]) -> str:
    """A Markdown table (benchmark, backend, value, unit, budget, ok?); recorded rows get a *."""
    header = ["benchmark", "backend", "value", "unit", "budget", "ok?"]
    lines = [header, ["---", "---", "---:", "---", "---:", "---"]]
    for row in rows:
        name = f"{row.name} *" if row.measured_at else row.name
        cells = [name, row.backend, _number(row.value, row.unit), row.unit]
        budget = "-" if row.budget is None else _budget(row.budget)
        lines.append([*cells, budget, row.ok])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "| "
        + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        + " |"
        for line in lines
    ]
    for at in sorted({row.measured_at for row in rows if row.measured_at}):
        text.append(f"\n* recorded when the cached database was built ({at}), not measured now")
    return "\n".join(text)


def write_json(rows: list[Row], path: Path, *, scale: str, measured_at: str) -> None:
    """Write the rows as a JSON list to `path` (results/latest.json)."""
    data = [
        {
            "name": row.name,
            "backend": row.backend,
            "value": round(row.value, 3),
            "unit": row.unit,
            "budget": row.budget,
            "scale": scale,
            "measured_at": row.measured_at or measured_at,
        }
        for row in rows
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
