"""The composition root: the one place that turns configuration into adapters and inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from stockwatch.adapters.files import Loaded, RowProblem, daily_series, read_items, read_sales
from stockwatch.config import Config
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.thresholds import ThresholdPolicy


@dataclass
class Catalog:
    """The merchant's items and daily sales, with every row that had to be skipped."""

    items: dict[ItemKey, Item] = field(default_factory=dict)
    sales: dict[str, list[int]] = field(default_factory=dict)
    skipped: list[tuple[Path, RowProblem]] = field(default_factory=list)
    sales_end: date | None = None

    def note(self, loaded: Loaded[object]) -> None:
        self.skipped.extend((loaded.path, p) for p in loaded.problems)


def load_catalog(
    config: Config, as_of: date, items_path: Path | None = None, sales_path: Path | None = None
) -> Catalog:
    """Read the item catalogue and the sales history named on the command line or in config."""
    catalog = Catalog()
    items_path = items_path or (
        config.resolve(config.model.catalog.items) if config.model.catalog.items else None
    )
    sales_path = sales_path or (
        config.resolve(config.model.catalog.sales) if config.model.catalog.sales else None
    )
    if items_path is not None:
        loaded_items = read_items(items_path)
        catalog.note(loaded_items)  # type: ignore[arg-type]
        catalog.items = {item.key: item for item in loaded_items.rows}
    if sales_path is not None:
        loaded_sales = read_sales(sales_path)
        catalog.note(loaded_sales)  # type: ignore[arg-type]
        window = max(
            [config.threshold_policy(item).window_days for item in catalog.items.values()]
            or [config.threshold_policy(None).window_days]
        )
        catalog.sales = daily_series(loaded_sales.rows, as_of, window)
        catalog.sales_end = max((line.day for line in loaded_sales.rows), default=None)
    return catalog


def policy_resolver(config: Config) -> Callable[[Item | None, str], ThresholdPolicy]:
    """Return a function giving each item its resolved threshold policy."""

    def policy_for(item: Item | None, sku: str) -> ThresholdPolicy:
        return config.threshold_policy(item, sku)

    return policy_for
