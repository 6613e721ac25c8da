"""The composition root: the one place that turns configuration into adapters and inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.token_file import JsonTokenStore
from stockwatch.adapters.db.token_store import SqlTokenStore
from stockwatch.adapters.files import Loaded, RowProblem, daily_series, read_items, read_sales
from stockwatch.config import Config, parse_duration
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.thresholds import ThresholdPolicy
from stockwatch.ports import TokenStore


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


def gateway_settings(config: Config) -> GatewaySettings:
    """The 1688 client's settings from ``[gateway]`` (secrets already expanded)."""
    g = config.model.gateway
    return GatewaySettings(
        app_key=g.app_key,
        app_secret=g.app_secret.get_secret_value(),
        base_url=g.base_url,
        redirect_uri=g.redirect_uri,
        authorize_url=g.authorize_url,
        side=g.side,
        buyer_api=g.buyer_api,
        seller_read=g.seller_read,
        qps=g.qps,
        concurrency=g.concurrency,
        connect_timeout=parse_duration(g.connect_timeout).total_seconds(),
        read_timeout=parse_duration(g.read_timeout).total_seconds(),
        max_attempts=g.max_attempts,
        backoff_initial=parse_duration(g.backoff_initial).total_seconds(),
        backoff_max=parse_duration(g.backoff_max).total_seconds(),
        refresh_margin=parse_duration(g.refresh_margin).total_seconds(),
        refresh_warn_days=g.refresh_warn_days,
        static_access_token=g.access_token.get_secret_value() if g.access_token else None,
    )


def token_store(config: Config, engine: Engine | None = None) -> TokenStore:
    """Where 1688 tokens persist: ``[gateway] token_store`` = file (data dir) or db."""
    if config.model.gateway.token_store == "db":
        if engine is None:
            raise ValueError("[gateway] token_store = 'db' needs a database engine")
        return SqlTokenStore(engine)
    return JsonTokenStore(config.data_dir / "1688-tokens.json")
