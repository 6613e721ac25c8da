"""The production LevelsComputer: configuration + catalogue + sales history → ``compute_bulk``.

Resolving a policy through the configuration layers is slow (pydantic), so it is done once per
distinct (class, category, per-item section) and shared by every item in that group; per-item
lead times and promotions become arrays.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
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
        # (class, category, item sections) → policy, or -1: no policy
        self._index: dict[tuple[object, str, str], int] = {}
        self._errors: dict[tuple[object, str, str], tuple[str, str]] = {}  # group → (sku, error)

    def index(self, item: Item | None, sku: str) -> int:
        """Return the policy number for an item, -1 when its settings clash (``error``)."""
        group = self._group(item, sku)
        found = self._index.get(group)
        if found is None:
            try:
                self.policies.append(self.config.threshold_policy(item, sku))
                found = self._index[group] = len(self.policies) - 1
            except ValueError:
                found = self._index[group] = -1
        return found

    def _group(self, item: Item | None, sku: str) -> tuple[object, str, str]:
        # Most shops tune no item by hand: then no item has a section (no lookup per item).
        sections = self.config.item_sections(item, sku) if self.config.model.items else ()
        return (item.item_class if item else "", item.category if item else "", "|".join(sections))

    def error(self, item: Item | None, sku: str) -> str:
        """Why an item whose ``index`` is -1 has no policy, naming that item. Resolved once per
        group (slow: pydantic); the others of the group get its words under their own name."""
        group = self._group(item, sku)
        said = self._errors.get(group)
        if said is not None and said[1].startswith(f"item {said[0]}: "):
            return f"item {sku}: " + said[1][len(f"item {said[0]}: ") :]
        try:
            self.config.threshold_policy(item, sku)
        except ValueError as exc:
            self._errors[group] = (sku, str(exc))
            return str(exc)
        return f"item {sku}: no threshold policy"  # not reached: index said it clashes

    def indexes(self, texts: Sequence[str], items: Sequence[Item | None]) -> list[int]:
        """``index`` of every row: one dict probe per catalogue item when no item is tuned
        by hand (a 1M-item recompute spent more here than in the maths)."""
        if self.config.model.items:
            return [self.index(item, t) for t, item in zip(texts, items, strict=True)]
        known = self._index
        out: list[int] = []
        for t, item in zip(texts, items, strict=True):
            got = known.get((item.item_class, item.category, "")) if item is not None else None
            out.append(self.index(item, t) if got is None else got)
        return out


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
        # Built once, not per chunk (a recompute of 1M items calls ``columns`` 20 times, and
        # walking the whole catalogue each time cost more than the maths), and on the first
        # chunk, not here: a recompute reads the stored levels meanwhile.
        self._catalogue: dict[str, Item] | None = None
        # How many keys share each SKU, for the keys kept per warehouse (none in most shops).
        self._places: Counter[str] = Counter()
        self._learned = {str(k): v for k, v in self.lead_times.items()}

    def _texts(self) -> dict[str, Item]:
        """The catalogue by each key's canonical text."""
        if self._catalogue is None:
            self._catalogue = {str(k): v for k, v in self.items.items()}
            # (Looked for in the joined texts, in C: a million keys' attributes cost 0.2 s.)
            if "@" in "\n".join(self._catalogue):
                self._places = Counter(k.sku for k in self.items)
        return self._catalogue

    def _sales(self, own: Sequence[str], as_of: date, window: int) -> npt.NDArray[np.int32]:
        """Each key's own history: ``SKU@WAREHOUSE`` sales, plus the plain SKU's sales when the
        SKU is kept in that one warehouse only (an ERP export without a warehouse column);
        a SKU in several warehouses never lends its SKU-level sales to each of them.
        ``own`` are the keys' canonical texts (``str(ItemKey)``)."""
        places = self._places
        # Only keys kept per warehouse can be lent to (none in most shops: looked for in C).
        lent = (
            [
                sku if at and places.get(sku, 0) <= 1 else None
                for sku, at, _ in (k.partition("@") for k in own)
            ]
            if "@" in "\n".join(own)
            else []
        )
        if not any(lent) and all(map(operator.lt, own, itertools.islice(own, 1, None))):
            # Distinct keys in order (a recompute's chunk), none lent to: the matrix is the
            # answer (sorting a set of 50,000 keys per chunk cost more than the check, in C).
            return self.history(own, as_of, window)
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
        known = self._texts()
        items = [known.get(k) for k in keys]
        texts = list(keys)
        # Catalogue keys are canonical; others (sales-only SKUs) are parsed. (Not ``None in
        # items``: that calls each Item's __eq__.)
        for row in [r for r, item in enumerate(items) if item is None]:
            texts[row] = str(ItemKey.parse(keys[row]))
            items[row] = known.get(texts[row])
        index = np.array(self.groups.indexes(texts, items), dtype=np.int64)
        errors: dict[int, str] = {}
        for row in np.flatnonzero(index < 0).tolist():
            errors[row] = self.groups.error(items[row], texts[row])
            index[row] = 0
        policies = self.groups.policies or [ThresholdPolicy()]
        # An item's own lead time (None → NaN) wins over its policy's, with its own σ or 0.
        own_lead = np.array(
            [i.lead_time_days if i is not None else None for i in items], dtype=np.float64
        )
        own_sd = np.array(
            [i.lead_time_sd_days if i is not None else None for i in items], dtype=np.float64
        )
        has_own = ~np.isnan(own_lead)
        lead = np.where(has_own, own_lead, np.array([p.lead_time_days for p in policies])[index])
        lead_sd = np.where(
            has_own,
            np.nan_to_num(own_sd, nan=0.0),
            np.array([p.lead_time_sd_days for p in policies])[index],
        )
        learned = [self._learned.get(k) for k in texts] if self._learned else [None] * len(texts)
        effective = lead.copy()  # promotions start one (learned) lead time before
        for row, got_lt in enumerate(learned):
            if got_lt is not None:
                effective[row] = got_lt.mean
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
            learned=learned if learned and any(x is not None for x in learned) else None,
        )
        self.last = bulk
        return LevelColumns(keys, bulk, errors)
