"""Composition for the backtest and the review: history from the database or the catalogue.

Daily sales come from the imported sales (``sales import``) when there are any, else from the
catalogue's sales file; real stock from stored readings; observed lead times from received
purchase orders when the store keeps them. Item prices, where known, come from a CSV.
"""

from __future__ import annotations

import csv
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.sales import SqlSalesStore
from stockwatch.adapters.db.stock_history import daily_stock
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.adapters.files import daily_series, read_sales
from stockwatch.bulk.sweep import ReplayData, SweepResult
from stockwatch.config.settings import Config
from stockwatch.core.model import Item, ItemKey, Tier
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.core.tuning import Candidate
from stockwatch.service.recompute import RecomputeReport
from stockwatch.wiring.compose import load_catalog

MIN_BEFORE_DAYS = 28  # the replay keeps at least this much history before it for the levels
DEFAULT_DAYS = 60


class HistoryError(ValueError):
    """The history cannot support the asked replay (no sales, a period outside it)."""


class NoSalesToReplay(HistoryError):
    """No sales at all: nothing to replay until some are imported."""


@dataclass(frozen=True)
class Period:
    start: date
    days: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)


def read_prices(path: Path) -> dict[str, float]:
    """Read ``sku,unit_price`` rows; a bad row is an error naming its line."""
    prices: dict[str, float] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"sku", "unit_price"} <= set(reader.fieldnames):
            raise HistoryError(f"{path}: needs the columns sku,unit_price")
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row["unit_price"])
            except (TypeError, ValueError):
                raise HistoryError(f"{path}:{line}: unit_price {row['unit_price']!r}") from None
            if not math.isfinite(value) or value < 0:
                raise HistoryError(f"{path}:{line}: unit_price must be ≥ 0")
            prices[(row["sku"] or "").strip()] = value
    return prices


def load_replay(
    config: Config,
    engine: Engine | None,
    *,
    start: date | None = None,
    days: int | None = None,
    select_items: list[str] | None = None,
    category: str | None = None,
    item_class: str | None = None,
    prices_path: Path | None = None,
) -> tuple[ReplayData, Period]:
    """Return the history to replay: by default the last ``DEFAULT_DAYS`` days of sales."""
    tz = ZoneInfo(config.model.general.timezone)
    sales_store = SqlSalesStore(engine) if engine is not None else None
    db_skus = sales_store.skus() if sales_store is not None else []
    last_day = sales_store.last_day() if db_skus and sales_store is not None else None
    probe = load_catalog(config, date.today())
    catalogue: dict[ItemKey, Item] = dict(probe.items)
    if engine is not None:
        for item in SqlStore(engine).items():
            catalogue.setdefault(item.key, item)
    if last_day is None:
        last_day = probe.sales_end
    if last_day is None:
        raise NoSalesToReplay("no sales history: import sales first (stockwatch sales import FILE)")
    window = max(config.threshold_policy(None).window_days, MIN_BEFORE_DAYS)
    if days is None:
        days = DEFAULT_DAYS
    if days < 1:
        raise HistoryError("--days must be at least 1")
    if start is None:
        start = last_day + timedelta(days=1) - timedelta(days=days)
    period = Period(start, days)
    keys = [k for k in catalogue if _wanted(catalogue[k], select_items, category, item_class)]
    if not catalogue:
        keys = [ItemKey(s) for s in db_skus]
    if select_items:
        missing = sorted(set(select_items) - {k.sku for k in keys} - set(db_skus))
        if missing:
            raise HistoryError(f"unknown item(s): {', '.join(missing)}")
        keys = keys or [ItemKey(s) for s in select_items]
    if not keys:
        raise HistoryError("no items to replay (check --item, --category and --class)")
    keys.sort(key=str)
    skus = [k.sku for k in keys]
    if db_skus and sales_store is not None:
        sales = np.asarray(sales_store.matrix(skus, period.end, window + days), dtype=np.int64)
    else:
        full = _catalogue_sales(config, period.end, window + days)
        sales = np.zeros((len(skus), window + days), dtype=np.int64)
        for row, sku in enumerate(skus):
            if sku in full:
                sales[row] = full[sku]
    actual = np.full((len(keys), days), -1, dtype=np.int64)
    start_stock = np.full(len(keys), -1, dtype=np.int64)
    if engine is not None:
        series_by_key, before = daily_stock(engine, [str(k) for k in keys], start, days, tz)
        for row, key in enumerate(keys):
            real = series_by_key.get(str(key))
            if real is not None:
                actual[row] = [-1 if v is None else v for v in real]
            if str(key) in before:
                start_stock[row] = before[str(key)]
    lead_samples: list[Sequence[float]] = [() for _ in keys]
    if engine is not None:
        by_supplier, by_item = received_lead_times(engine)
        for row, key in enumerate(keys):
            listed = catalogue.get(key)
            supplier = listed.supplier if listed is not None else ""
            # The supplier's received orders say how long it really takes; else the item's own.
            lead_samples[row] = by_supplier.get(supplier) or by_item.get(str(key)) or ()
    prices = np.full(len(keys), np.nan)
    if prices_path is not None:
        known = read_prices(prices_path)
        prices = np.array([known.get(s, np.nan) for s in skus], dtype=np.float64)
    data = ReplayData(
        skus=skus,
        items=[catalogue.get(k) for k in keys],
        before=sales[:, :window],
        demand=sales[:, window:],
        start_on_hand=start_stock,
        as_of=start,
        prices=prices,
        actual_on_hand=actual,
        promotions=config.promotions(),
        names=[str(k) for k in keys],
        lead_samples=list(lead_samples),
    )
    return data, period


def recompute_days(spec: str, start: date, days: int, tz: ZoneInfo) -> list[int]:
    """Return the days of a replay (offsets > 0) on which the daemon's schedule ``spec``
    (``[thresholds] recompute``: weekly, monthly, a cron expression; or ``never``) recomputes
    the levels. The replay recomputes at the start of day 0 too; a day has one reading, so a
    schedule firing several times a day counts once."""
    from stockwatch.adapters.recompute_schedule import next_recompute_at

    if spec.strip().lower() == "never":
        return []
    out: list[int] = []
    last = datetime.combine(start, datetime.min.time(), tz)
    while True:
        nxt = next_recompute_at(spec, last, last)
        offset = (nxt.astimezone(tz).date() - start).days
        if offset >= days:
            return out
        if offset > 0 and (not out or offset > out[-1]):
            out.append(offset)
        end_of_day = datetime.combine(
            start + timedelta(days=offset + 1), datetime.min.time(), tz
        ) - timedelta(seconds=1)
        last = max(nxt, end_of_day)


def schedule(config: Config, period: Period, spec: str | None = None) -> list[int]:
    """The recompute days of ``period`` under ``spec``, else the configured schedule."""
    tz = ZoneInfo(config.model.general.timezone)
    chosen = spec if spec is not None else config.model.thresholds.recompute
    try:
        return recompute_days(chosen, period.start, period.days, tz)
    except ValueError:  # its only words: not weekly, monthly nor a valid cron expression
        # One canonical (English) form; core.replay_text words it in zh-CN for the reader.
        raise HistoryError(
            f"--recompute {chosen!r}: use weekly, monthly, a 5-field cron expression or never"
        ) from None


def received_orders(engine: Engine) -> list[PurchaseOrder]:
    """Every received purchase order (each one an observed lead time)."""
    return SqlPurchaseOrderStore(engine).received()


def received_lead_times(engine: Engine) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Observed lead times in days, by supplier and by item key."""
    by_supplier: dict[str, list[float]] = {}
    by_item: dict[str, list[float]] = {}
    for order in received_orders(engine):
        days = order.lead_time_days
        if days is None:
            continue
        by_item.setdefault(str(order.key), []).append(days)
        if order.supplier:
            by_supplier.setdefault(order.supplier, []).append(days)
    return by_supplier, by_item


def _catalogue_sales(config: Config, end: date, width: int) -> dict[str, list[int]]:
    """Daily sales from ``[catalog] sales`` for the ``width`` days before ``end``."""
    if not config.model.catalog.sales:
        return {}
    loaded = read_sales(config.resolve(config.model.catalog.sales))
    return daily_series(loaded.rows, end, width)


def _wanted(
    item: Item, only: list[str] | None, category: str | None, item_class: str | None
) -> bool:
    if only and item.sku not in only:
        return False
    if category is not None and item.category != category:
        return False
    return item_class is None or item.item_class.value == item_class.upper()


def policy_groups(config: Config) -> Callable[[Item | None, str], object]:
    """Group key for resolving policies once per (class, category, per-item section)."""

    def group(item: Item | None, sku: str) -> object:
        section = sku if sku in config.model.items else ""
        return (item.item_class.value if item else "", item.category if item else "", section)

    return group


def recompute_items(
    config: Config, url: str | None, skus: list[str] | None
) -> RecomputeReport | None:
    """Recompute the thresholds of ``skus`` (all when None) under ``config``, through the same
    review guard as a scheduled recompute; None when no sales were imported into the database."""
    from stockwatch.wiring.compose import open_database
    from stockwatch.wiring.sales_levels import recompute_levels, sales_levels_computer

    engine = open_database(config, url)
    try:
        sales = SqlSalesStore(engine)
        imported = sales.skus()
        if not imported:
            return None
        tz = ZoneInfo(config.model.general.timezone)
        catalogue = dict(load_catalog(config, datetime.now(tz).date()).items)
        for item in SqlStore(engine).items():
            catalogue.setdefault(item.key, item)
        keys = sorted(str(k) for k in catalogue if skus is None or k.sku in skus) or sorted(
            s for s in imported if skus is None or s in skus
        )
        last = sales.last_day()
        as_of = (last + timedelta(days=1)) if last else datetime.now(tz).date()
        return recompute_levels(
            keys,
            as_of,
            sales_levels_computer(config, catalogue, engine, sales),
            SqlThresholdStore(engine),
            datetime.now(UTC),
            review_factor=config.model.thresholds.review_factor,
        )
    finally:
        engine.dispose()


# The dashboard's /backtest page: a small default grid, cached for a while (a replay of the
# whole catalogue takes a second or more; the page must not redo it on every refresh).
PAGE_SERVICE_LEVELS = ("0.9", "0.95", "0.99")
PAGE_BUFFERS = ("0", "2", "4")
PAGE_CACHE_SECONDS = 300.0


def page_candidates(in_force: Candidate, params: dict[str, str]) -> list[Candidate]:
    """The policy in force, then either the one candidate the query asks for, or a grid."""
    from stockwatch.core.tuning import parse_setting

    asked = {
        k: v for k, v in params.items() if k in ("service_level", "buffer_days", "strategy") and v
    }
    if asked:
        settings = tuple((k, parse_setting(k, v)) for k, v in sorted(asked.items()))
        return [in_force, Candidate("candidate", settings)]
    grid = [in_force]
    for sl, buf in itertools.product(PAGE_SERVICE_LEVELS, PAGE_BUFFERS):
        grid.append(
            Candidate(
                f"P{len(grid)}",
                (("service_level", float(sl)), ("buffer_days", float(buf))),
                debounce_t1=in_force.debounce_t1,
                debounce_t2=in_force.debounce_t2,
                dedupe_days=in_force.dedupe_days,
            )
        )
    return grid


def in_force_candidate(config: Config, name: str = "in force") -> Candidate:
    """The policy in force, with the alerting settings turned into daily readings."""
    policy = config.alert_policy()

    def days(tier: Tier) -> int:
        rule = policy.debounce_for(tier)
        return max(rule.readings, math.ceil(rule.duration.total_seconds() / 86400), 1)

    return Candidate(
        name,
        debounce_t1=days(Tier.T1),
        debounce_t2=days(Tier.T2),
        dedupe_days=max(math.ceil(policy.dedupe_window.total_seconds() / 86400), 1),
    )


PageResult = tuple[SweepResult, date] | None


def backtest_page(config: Config, engine: Engine) -> Callable[[str, dict[str, str]], PageResult]:
    """Return what the /backtest page calls: the replay for a language and query (and its first
    day), or None when there is no history. Bad query values raise ValueError (a 400)."""
    from stockwatch.bulk.sweep import run_sweep

    cache: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, PageResult]] = {}

    def build(lang: str, params: dict[str, str]) -> PageResult:
        key = (lang, tuple(sorted(params.items())))
        hit = cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < PAGE_CACHE_SECONDS:
            return hit[1]
        name = "现行策略" if lang != "en" else "in force"
        candidates = page_candidates(in_force_candidate(config, name), params)
        try:
            data, period = load_replay(config, engine)
        except HistoryError:
            cache[key] = (time.monotonic(), None)
            return None
        probe = run_sweep(
            data, candidates[:1], config.threshold_policy, group_of=policy_groups(config)
        )
        ranked = sorted(
            range(len(data.skus)),
            key=lambda i: (-int(probe.results[0].outcome.stockout_days[i]), i),
        )[:5]
        result = run_sweep(
            data,
            candidates,
            config.threshold_policy,
            group_of=policy_groups(config),
            trace_items=ranked,
            recompute_days=schedule(config, period),
        )
        cache[key] = (time.monotonic(), (result, period.start))
        return result, period.start

    return build
