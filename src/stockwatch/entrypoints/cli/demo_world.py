"""The demo's simulated world: what the shop sells and what is on its shelves at the start.

Every run starts from the same kind of fresh world:
- each sample SKU sells what the sample's sales history says it sells (the same daily mean and
  spread as ``sales.csv``, the history its levels are computed from), and its seller never
  restocks behind the merchant's back: only the demo's merchant puts goods back;
- every item starts above its T1 level (by its recovery margin and a few days of sales more,
  a different number of days per item so that alerts do not all open at once), so every alert
  the review counts is one stockwatch raised in time or not. One exception, on purpose: an
  item the sample shows sold out (LED-STRIP-5M) starts sold out, so that the first poll
  already shows an alert and a replenishment task; the review counts it as the one miss (its
  stockout began before the demo did).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from pathlib import Path

from stockwatch.adapters.alibaba1688.simulator.catalogue import (
    Catalogue,
    Demand,
    sample_demand,
    sample_rows,
)
from stockwatch.core.model import Item, ItemKey, TierLevels

EXTRA_DAYS = (1.0, 6.0)  # sales above T1 (and its margin) each item starts with, drawn per item
RECOVER_MARGIN = 1.10  # the alerting default: above T1 by 10 % counts as recovered


def starting_stock(
    items: Mapping[ItemKey, Item],
    levels: Mapping[ItemKey, TierLevels],
    demand: Mapping[tuple[str, str | None], Demand],
    stock: Mapping[tuple[str, str | None], int],
    seed: int,
) -> dict[tuple[str, str | None], int]:
    """Return each 1688 offer/spec's starting stock: the sample's, or more where that would
    leave one of its items at or below T1 (a warehouse reads only its share of the figure)."""
    rng = random.Random(seed)
    start = dict(stock)
    for key in sorted(items, key=str):
        item, level = items[key], levels.get(key)
        if item.offer is None or level is None or level.disabled:
            continue
        where = (item.offer.offer_id, item.offer.spec_id)
        if stock.get(where) == 0:
            continue  # sold out before the demo began: left so, see the module's docstring
        share = item.offer.share or 1.0
        daily = demand[where].daily_mean * share if where in demand else level.velocity
        wanted = level.t1 * RECOVER_MARGIN + daily * rng.uniform(*EXTRA_DAYS)
        need = math.ceil(wanted / share) + 1  # floor(stock × share) must clear it too
        start[where] = max(start.get(where, 0), need)
    return start


def demo_catalogue(
    sample: Path,
    items: Mapping[ItemKey, Item],
    levels: Mapping[ItemKey, TierLevels],
    seed: int,
) -> Catalogue:
    """The simulator's catalogue for the demo: the sample's offers, selling their history,
    never restocking by themselves, every item starting above T1."""
    demand = sample_demand(sample / "items.csv", sample / "sales.csv")
    rows = sample_rows(sample / "items.csv", sample / "stock.csv")
    stock = starting_stock(items, levels, demand, {(o, s): n for o, s, n in rows}, seed)
    rows = [(offer, spec, stock[(offer, spec)]) for offer, spec, _ in rows]
    return Catalogue.from_sample(rows, seed=seed, restock=False, demand=demand)
