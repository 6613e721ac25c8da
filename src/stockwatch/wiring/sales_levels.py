"""The one levels computer over imported sales: every recompute path (scheduled, promotions,
imported orders, the CLI, a backtest's --apply) builds it here, so none of them can forget an
input — promotions, stockout days or the lead times learned from received purchase orders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from stockwatch.config.settings import Config
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.thresholds import ThresholdPolicy
from stockwatch.wiring.promotions import all_promotions
from stockwatch.wiring.purchasing import learned_lead_times

if TYPE_CHECKING:
    from stockwatch.adapters.db.sales import SqlSalesStore
    from stockwatch.bulk.computer import BulkLevelsComputer


def sales_levels_computer(
    config: Config,
    items: Mapping[ItemKey, Item],
    engine: Engine,
    sales: SqlSalesStore,
) -> BulkLevelsComputer:
    """Return the bulk computer over ``sales`` with every input the database holds."""
    # numpy loads only when a recompute actually runs (CLI start-up stays fast).
    from stockwatch.bulk.computer import BulkLevelsComputer

    tz_name = config.model.general.timezone

    def resolve(item: Item | None, sku: str) -> ThresholdPolicy:
        return config.threshold_policy(item, sku)

    return BulkLevelsComputer(
        config,
        items,
        sales.matrix,
        promotions=all_promotions(config, engine),
        stockouts=lambda k, end, n: sales.stockouts(k, end, n, tz_name),
        lead_times=learned_lead_times(engine, items, resolve),
    )
