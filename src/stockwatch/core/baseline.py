"""A clean demand baseline: which past days are left out of d̄ and σ, and why.

Two kinds of day do not show normal demand (inventory-math §5, §6):
- a **stockout** day: the shelf was empty, so what sold is censored demand, not demand;
- a **promotion** day: demand was pushed up on purpose and will not recur next month.

``day_marks`` labels each day of a history window; ``thresholds.demand_stats`` then computes
d̄ and σ over the clean days only. A minimum of history protects the estimate: when too few
clean days would remain, the marked days are kept (and ``explain`` says so).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from datetime import date, timedelta

from stockwatch.core.model import Item
from stockwatch.core.promotions import Promotion


class DayMark(enum.IntEnum):
    CLEAN = 0
    STOCKOUT = 1  # the shelf was at 0: sales that day are censored
    PROMO = 2  # a promotion ran on the item that day


def day_marks(
    width: int,
    as_of: date,
    item: Item | None,
    promotions: Sequence[Promotion] = (),
    stockout_days: Collection[date] = (),
) -> list[int]:
    """Return one DayMark per day of a ``width``-day history ending the day before ``as_of``.

    A day that is both is a stockout day (the shelf being empty is what limited the sales).
    """
    first = as_of - timedelta(days=width)
    marks = [int(DayMark.CLEAN)] * width
    if item is not None:
        for promo in promotions:
            if not promo.applies_to(item) or promo.end < first or promo.start >= as_of:
                continue
            lo = max((promo.start - first).days, 0)
            hi = min((promo.end - first).days, width - 1)
            for i in range(lo, hi + 1):
                marks[i] = int(DayMark.PROMO)
    for day in stockout_days:
        i = (day - first).days
        if 0 <= i < width:
            marks[i] = int(DayMark.STOCKOUT)
    return marks


def _ranges(days: Sequence[date]) -> str:
    """Word consecutive days as ranges: ``2026-11-01–2026-11-03, 2026-11-09``."""
    parts: list[str] = []
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + timedelta(days=1):
            j += 1
        parts.append(str(days[i]) if i == j else f"{days[i]}–{days[j]}")
        i = j + 1
    return ", ".join(parts)


def dropped_days_notes(
    marks: Sequence[int], start: int, as_of: date, kept: bool, clean_days: int, minimum: int
) -> list[str]:
    """Return the explanation of the marked days from index ``start`` of a history window.

    ``marks`` covers the window (ending the day before ``as_of``); ``kept`` says the marked days
    stayed in because only ``clean_days`` clean days (< ``minimum``) would be left.
    """
    first = as_of - timedelta(days=len(marks))
    by_kind: dict[int, list[date]] = {int(DayMark.STOCKOUT): [], int(DayMark.PROMO): []}
    for i in range(start, len(marks)):
        if marks[i]:
            by_kind[int(marks[i])].append(first + timedelta(days=i))
    stockouts, promos = by_kind[int(DayMark.STOCKOUT)], by_kind[int(DayMark.PROMO)]
    what = []
    if stockouts:
        what.append(f"{len(stockouts)} stockout day(s) ({_ranges(stockouts)})")
    if promos:
        what.append(f"{len(promos)} promotion day(s) ({_ranges(promos)})")
    if not what:
        return []
    if kept:
        return [
            f"kept in d̄ and σ although unusual: {'; '.join(what)}: only {clean_days} clean "
            f"day(s) would remain, fewer than the minimum of {minimum}"
        ]
    return [f"left out of d̄ and σ: {'; '.join(what)}"]
