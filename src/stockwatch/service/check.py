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


def own_sales(
    key: ItemKey, places: Mapping[str, int], sales: Mapping[str, Sequence[int]]
) -> Sequence[int] | None:
    """Return an item's own daily sales: ``SKU@WAREHOUSE`` sales, plus the plain SKU's when
    the SKU is kept in that one warehouse only; a SKU in several warehouses never lends its
    SKU-level sales to each of them (the bulk path applies the same rule). ``places``: how
    many item keys each SKU has."""
    own = sales.get(str(key)) if key.warehouse else None
    lent = sales.get(key.sku)
    if key.warehouse and lent is not None and places.get(key.sku, 0) > 1:
        lent = None
    if own is None or lent is None:
        return own if lent is None else lent
    return [a + b for a, b in zip(own, lent, strict=True)]


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
    places: dict[str, int] = {}
    for known in items:
        places[known.sku] = places.get(known.sku, 0) + 1
    for key in keys:
        item = items.get(key)
        try:
            policy = policy_for(item, str(key))
            levels[key] = compute_levels(
                policy,
                own_sales(key, places, sales),
                as_of,
                item,
                promotions,
                lead_time=learned.get(key),
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
