"""The item page's stock chart: readings and the T1/T2/T3 lines scaled into an SVG box."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

CHART_W, CHART_H, PAD = 720, 240, 40


@dataclass(frozen=True)
class Chart:
    points: str  # SVG polyline points
    levels: tuple[tuple[str, int, float], ...]  # name, quantity, y
    y_max: int
    first: datetime
    last: datetime
    dots: tuple[tuple[float, float, int], ...]


def stock_chart(
    samples: Sequence[tuple[datetime, int]], levels: tuple[int, int, int] | None
) -> Chart | None:
    """Scale (time, available) samples and the T1/T2/T3 lines into the SVG's box."""
    if not samples:
        return None
    first, last = samples[0][0], samples[-1][0]
    span = max((last - first).total_seconds(), 1.0)
    top = max([q for _, q in samples] + list(levels or ()) + [1])
    y_max = math.ceil(top * 1.15)

    def x(at: datetime) -> float:
        return round(PAD + (at - first).total_seconds() / span * (CHART_W - 2 * PAD), 1)

    def y(qty: float) -> float:
        return round(CHART_H - PAD - max(qty, 0) / y_max * (CHART_H - 2 * PAD), 1)

    dots = tuple((x(at), y(q), q) for at, q in samples)
    names = ("T1", "T2", "T3")
    lines = tuple((n, lv, y(lv)) for n, lv in zip(names, levels or (), strict=False))
    return Chart(" ".join(f"{a},{b}" for a, b, _ in dots), lines, y_max, first, last, dots)
