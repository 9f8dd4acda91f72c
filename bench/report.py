"""Figures, their BENCH lines and the JSON file."""

import json
import math
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One figure: our value, the anchor's (or the ceiling's), and the target it is held to.

    ``ratio`` is oriented so that higher is better: ours/anchor for rates, anchor/ours for
    latencies. ``target`` is the ratio or value the issue asks for, checked by ``met``.
    """

    name: str
    unit: str
    ours: float | None = None
    anchor: float | None = None
    higher_is_better: bool = True
    ours_label: str = "Blipay"
    anchor_label: str = "anchor"
    targets: list[str] = field(default_factory=list)
    met: bool | None = None
    skipped: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.anchor is None or 0 in (self.ours, self.anchor):
            return None
        return self.ours / self.anchor if self.higher_is_better else self.anchor / self.ours

    def line(self) -> str:
        if self.skipped is not None:
            return f"BENCH {self.name} skipped reason={self.skipped}"
        return (
            f"BENCH {self.name} ours={_number(self.ours)} anchor={_number(self.anchor)} "
            f"ratio={_number(self.ratio, ratio=True)} unit={self.unit}"
        )


def _number(value: float | None, *, ratio: bool = False) -> str:
    if value is None or math.isnan(value):
        return "nan"
    if ratio:
        return f"{value:.2f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100), linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def write_json(path: Path, figures: Sequence[Figure], *, started: datetime, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "started": started.isoformat(),
        "seconds": round(seconds, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "figures": {f.name: {**asdict(f), "ratio": f.ratio, "line": f.line()} | {"series": f.series} for f in figures},
    }
    path.write_text(json.dumps(document, indent=1, default=str) + "\n")


def now() -> datetime:
    return datetime.now(UTC)
