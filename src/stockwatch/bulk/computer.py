"""The production LevelsComputer: configuration + catalogue + sales history → ``compute_bulk``.

Resolving a policy through the configuration layers is slow (pydantic), so it is done once per
distinct (class, category, per-item section) and shared by every item in that group; per-item
lead times and promotions become arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date

import numpy as np
import numpy.typing as npt

from stockwatch.bulk.levels import (
    BulkLevels,
    baseline_marks,
    compute_bulk,
    demand_uplifts,
    horizons,
    promotion_index,
)
from stockwatch.bulk.recompute import LevelColumns
from stockwatch.config.settings import Config
from stockwatch.core.leadtime import LearnedLeadTime
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.thresholds import Promotion, ThresholdPolicy
from stockwatch.ports import ComputedLevels

History = Callable[[Sequence[str], date, int], npt.NDArray[np.int32]]
# (item keys, as_of, days) -> per key, the days in the window its shelf was empty
StockoutDays = Callable[[Sequence[str], date, int], Sequence[Collection[date]]]


class PolicyGroups:
    """Distinct policies and each item's index into them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.policies: list[ThresholdPolicy] = []
        self._index: dict[tuple[str, str, str], int | str] = {}

    def index(self, item: Item | None, sku: str) -> int | str:
        """Return the policy number for an item, or the configuration error as text."""
        # Most shops tune no item by hand: then no item has a section (no lookup per item).
        sections = self.config.item_sections(item, sku) if self.config.model.items else ()
        section = "|".join(sections)
        group = (item.item_class.value if item else "", item.category if item else "", section)
        if group not in self._index:
            try:
                self.policies.append(self.config.threshold_policy(item, sku))
                self._index[group] = len(self.policies) - 1
            except ValueError as exc:
                self._index[group] = str(exc)
        return self._index[group]


class BulkLevelsComputer:
    """Compute levels for a batch of item keys with the numpy bulk path."""

    def __init__(
        self,
        config: Config,
        items: Mapping[ItemKey, Item],
        history: History,
        promotions: Sequence[Promotion] | None = None,
        stockouts: StockoutDays | None = None,
        lead_times: Mapping[ItemKey, LearnedLeadTime] | None = None,
    ) -> None:
        self.config = config
        self.lead_times = dict(lead_times or {})
        self.items = items
        self.history = history
        self.stockouts = stockouts
        self.promotions = list(config.promotions() if promotions is None else promotions)
        self.groups = PolicyGroups(config)
        self.last: BulkLevels | None = None
        # Built once, not per chunk: a recompute of 1M items calls ``columns`` 20 times, and
        # walking the whole catalogue each time cost more than the maths.
        self._texts: dict[str, Item] = {str(k): v for k, v in items.items()}
        self._places: dict[str, int] = {}
        for k in items:
            self._places[k.sku] = self._places.get(k.sku, 0) + 1

    def _sales(self, own: Sequence[str], as_of: date, window: int) -> npt.NDArray[np.int32]:
        """Each key's own history: ``SKU@WAREHOUSE`` sales, plus the plain SKU's sales when the
        SKU is kept in that one warehouse only (an ERP export without a warehouse column);
        a SKU in several warehouses never lends its SKU-level sales to each of them.
        ``own`` are the keys' canonical texts (``str(ItemKey)``)."""
        places = self._places
        lent = [
            sku if at and places.get(sku, 0) <= 1 else None
            for sku, at, _ in (k.partition("@") for k in own)
        ]
        names = sorted(set(own) | {n for n in lent if n})
        matrix = self.history(names, as_of, window)
        row = {n: i for i, n in enumerate(names)}
        out = matrix[[row[n] for n in own]]
        extra = [i for i, n in enumerate(lent) if n]
        if extra:
            out[extra] += matrix[[row[lent[i]] for i in extra]]  # type: ignore[index]
        return out

    def __call__(self, keys: Sequence[str], as_of: date) -> list[ComputedLevels]:
        found = self.columns(keys, as_of)
        bulk, errors = found.bulk, found.errors
        out: list[ComputedLevels] = []
        all_levels = bulk.levels_list()
        for row, name in enumerate(keys):
            if row in errors:
                out.append(ComputedLevels(name, None, errors[row]))
            elif bulk.error[row]:
                out.append(ComputedLevels(name, None, f"item {name}: {bulk.error_message(row)}"))
            else:
                out.append(ComputedLevels(name, all_levels[row]))
        return out

    def columns(self, keys: Sequence[str], as_of: date) -> LevelColumns:
        """Compute ``keys`` as arrays (the bulk recompute's input; no per-item objects)."""
        known = self._texts
        # Catalogue keys are canonical already; only others (sales-only SKUs) are parsed.
        texts = [k if k in known else str(ItemKey.parse(k)) for k in keys]
        items = [known.get(k) for k in texts]
        errors: dict[int, str] = {}
        index = np.zeros(len(keys), dtype=np.int64)
        for row, (key, item) in enumerate(zip(texts, items, strict=True)):
            got = self.groups.index(item, key)
            if isinstance(got, str):
                errors[row] = got
            else:
                index[row] = got
        policies = self.groups.policies or [ThresholdPolicy()]
        lead = np.array([policies[i].lead_time_days for i in index.tolist()], dtype=np.float64)
        lead_sd = np.array(
            [policies[i].lead_time_sd_days for i in index.tolist()], dtype=np.float64
        )
        for row, item in enumerate(items):
            if item is not None and item.lead_time_days is not None:
                lead[row] = item.lead_time_days
                lead_sd[row] = item.lead_time_sd_days or 0.0
        learned = (
            [self.lead_times.get(ItemKey.parse(k)) for k in texts]
            if self.lead_times
            else [None] * len(texts)
        )
        effective = lead.copy()  # promotions start one (learned) lead time before
        for row, found in enumerate(learned):
            if found is not None:
                effective[row] = found.mean
        window = max(p.window_days for p in policies)
        sales = self._sales(texts, as_of, window)
        outs = self.stockouts(list(keys), as_of, window) if self.stockouts else None
        bulk = compute_bulk(
            sales,
            policies,
            index,
            lead,
            lead_sd,
            self.promotions,
            demand_uplifts(items, self.promotions, as_of, horizons(policies, index, effective)),
            promotion_index(items, self.promotions, as_of, effective, "threshold"),
            marks=baseline_marks(items, self.promotions, as_of, sales.shape[1], outs),
            as_of=as_of,
            learned=learned if any(x is not None for x in learned) else None,
        )
        self.last = bulk
        return LevelColumns(keys, bulk, errors)
