"""Check a stock snapshot: levels per item, the tier each reading shows, worst first."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from stockwatch.core.leadtime import LearnedLeadTime
from stockwatch.core.model import Item, ItemKey, Reading, Tier, TierLevels
from stockwatch.core.thresholds import Promotion, ThresholdPolicy, compute_levels

PolicyFor = Callable[[Item | None, str], ThresholdPolicy]


@dataclass(frozen=True)
class ItemStatus:
    """One item's position against its levels."""

    key: ItemKey
    item: Item | None
    reading: Reading
    levels: TierLevels
    tier: Tier

    @property
    def available(self) -> int | None:
        return self.reading.available

    @property
    def days_of_cover(self) -> float | None:
        """Return days of cover; None for a failed read, ∞ when nothing sells."""
        if self.available is None:
            return None
        cover = self.levels.days_of_cover(self.available)
        return math.inf if cover is None else cover

    def urgency(self) -> tuple[int, float, str]:
        """Sort key: worst tier first, then fewest days of cover."""
        cover = self.days_of_cover
        return (-int(self.tier), math.inf if cover is None else cover, str(self.key))


@dataclass(frozen=True)
class ItemError:
    key: ItemKey
    message: str


def levels_for_items(
    keys: Iterable[ItemKey],
    items: Mapping[ItemKey, Item],
    policy_for: PolicyFor,
    sales: Mapping[str, Sequence[int]],
    as_of: date,
    promotions: Sequence[Promotion] = (),
    lead_times: Mapping[ItemKey, LearnedLeadTime] | None = None,
) -> tuple[dict[ItemKey, TierLevels], list[ItemError]]:
    """Compute every item's levels; an item whose data is unusable is reported, not fatal.

    ``lead_times``: lead times learned from received purchase orders, where there are enough.
    """
    learned = lead_times or {}
    levels: dict[ItemKey, TierLevels] = {}
    errors: list[ItemError] = []
    for key in keys:
        item = items.get(key)
        try:
            policy = policy_for(item, key.sku)
            levels[key] = compute_levels(
                policy, sales.get(key.sku), as_of, item, promotions, lead_time=learned.get(key)
            )
        except ValueError as exc:
            errors.append(ItemError(key, str(exc)))
    return levels, errors


def assess(
    readings: Iterable[Reading],
    items: Mapping[ItemKey, Item],
    levels: Mapping[ItemKey, TierLevels],
) -> list[ItemStatus]:
    """Return each reading's tier against its item's levels, worst first."""
    out = []
    for reading in readings:
        lv = levels.get(reading.key)
        if lv is None or reading.available is None:
            continue
        out.append(
            ItemStatus(
                reading.key,
                items.get(reading.key),
                reading,
                lv,
                lv.classify_stock(reading.available, reading.shelf or 0),
            )
        )
    return sorted(out, key=ItemStatus.urgency)
