"""Promotions from every source (config, CSV file, API) and applying them on time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.adapters.files import FileFormatError, RowProblem
from stockwatch.adapters.promotions_file import read_promotions
from stockwatch.config.settings import Config
from stockwatch.core.model import ItemKey
from stockwatch.core.promotions import Promotion
from stockwatch.ports import PromotionStore

if TYPE_CHECKING:
    from stockwatch.wiring.compose import LevelCache


def file_promotions(config: Config) -> tuple[list[Promotion], list[tuple[Path, RowProblem]]]:
    """Return the promotions of ``[catalog] promotions`` (CSV) and the rows it skipped."""
    name = config.model.catalog.promotions
    if not name:
        return [], []
    loaded = read_promotions(config.resolve(name))
    return loaded.rows, [(loaded.path, p) for p in loaded.problems]


def promotion_file_problems(config: Config) -> list[str]:
    """Every bad row of ``[catalog] promotions`` as ``file:line field: why`` (or the file as a
    whole when it cannot be read), for ``config validate``; empty when all is well."""
    try:
        _, problems = file_promotions(config)
    except FileNotFoundError:
        return []  # reported with the configuration's own problems (catalog.promotions)
    except (FileFormatError, OSError) as exc:
        return [str(exc)]
    return [f"{path}:{p.line} {p.field or '-'}: {p.message}" for path, p in problems]


def all_promotions(config: Config, engine: Engine | None = None) -> list[Promotion]:
    """Every promotion: the config file's, the CSV file's and those entered through the API.

    A CSV file that cannot be read at all is an error for the caller; bad rows are skipped
    (``stockwatch promotions check`` lists them by line).
    """
    promos = config.promotions() + file_promotions(config)[0]
    if engine is not None:
        from stockwatch.adapters.db.promotions import SqlPromotionStore

        promos += [s.promotion for s in SqlPromotionStore(engine).list()]
    return promos


def promotion_store(engine: Engine) -> PromotionStore:
    """The API's promotions, in the shared database."""
    from stockwatch.adapters.db.promotions import SqlPromotionStore

    return SqlPromotionStore(engine)


# A promotion is the merchant's decision: its levels apply at once, never held for review.
PROMOTION_REVIEW_FACTOR = 1e12


def recompute_items(
    config: Config,
    store: SqlStore,
    cache: LevelCache,
    keys: Sequence[str],
    now: datetime,
    review_factor: float | None = None,
    allow_no_sales: bool = False,
) -> object:
    """Recompute some items' stored levels from the imported sales (no-op before any import,
    unless ``allow_no_sales``: then the new-item rule, as the first start stores it).

    ``review_factor`` None: the configured one (big jumps wait for a person).
    """
    from stockwatch.adapters.db.sales import SqlSalesStore
    from stockwatch.wiring.sales_levels import (  # imports this module
        import_configured_sales,
        recompute_levels,
        sales_levels_computer,
    )

    with cache.recompute_lock:  # see LevelCache: never side by side with another recompute
        sales = SqlSalesStore(store.engine)
        # History only in the `[catalog] sales` file: import it first, as the scheduled
        # recompute does (a promotion applied on the first start stored the new-item rule).
        import_configured_sales(config, cache.catalog.items, sales)
        has_sales = sales.last_day() is not None
        if not keys or not (has_sales or allow_no_sales):
            return None
        day = cache.as_of or now.astimezone(ZoneInfo(config.model.general.timezone)).date()
        computer = sales_levels_computer(config, cache.catalog.items, store.engine, sales)
        return recompute_levels(
            keys,
            day,
            computer,
            SqlThresholdStore(store.engine),
            now,
            review_factor=review_factor or config.model.thresholds.review_factor,
            has_sales=has_sales,
            allow_no_sales=allow_no_sales,
        )


@dataclass
class PromotionApplier:
    """Applies promotions on time: recomputes the items they name (and those they named last
    time, so an ended or deleted promotion is taken back) and asks for a fresh reading."""

    config: Config
    store: SqlStore
    cache: LevelCache
    applied: set[str] = field(default_factory=set)

    def run(self, now: datetime) -> int:
        promos = all_promotions(self.config, self.store.engine)
        catalog = self.cache.refresh()  # the fallback levels, with today's promotions
        named = {
            str(key)
            for key, item in catalog.items.items()
            if any(p.applies_to(item) for p in promos)
        }
        keys = sorted(named | self.applied)
        if not keys:
            return 0
        # Without imported sales the stored levels are the new-item rule's (the first start
        # writes them, and they win over the fallback levels): a promotion must replace them.
        recompute_items(
            self.config,
            self.store,
            self.cache,
            keys,
            now,
            PROMOTION_REVIEW_FACTOR,
            allow_no_sales=True,
        )
        self.store.request_recheck([ItemKey.parse(k) for k in keys], now)
        self.applied = named
        return len(keys)

    def next_at(self, now: datetime) -> datetime | None:
        """Return the next local midnight while a promotion is running or ahead, else None.

        The demand a promotion adds to the protection window changes every day it is in play
        (its days enter the window one by one from ``start − L``), so it is re-applied daily.
        """
        tz = ZoneInfo(self.config.model.general.timezone)
        today = now.astimezone(tz).date()
        promos = all_promotions(self.config, self.store.engine)
        if not promos and not self.applied:
            return None
        if self.applied or any(p.end >= today - timedelta(days=1) for p in promos):
            midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), tz)
            return midnight.astimezone(UTC)
        return None
