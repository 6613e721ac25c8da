"""The one levels computer over imported sales: every recompute path (scheduled, promotions,
imported orders, the CLI, a backtest's --apply) builds it here, so none of them can forget an
input — promotions, stockout days or the lead times learned from received purchase orders."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from stockwatch.config.settings import Config
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.thresholds import ThresholdPolicy
from stockwatch.service.recompute import DEFAULT_CHUNK, RecomputeReport
from stockwatch.wiring.promotions import all_promotions
from stockwatch.wiring.purchasing import learned_lead_times

if TYPE_CHECKING:
    from stockwatch.adapters.db.sales import SqlSalesStore
    from stockwatch.adapters.db.threshold_store import SqlThresholdStore
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


def import_configured_sales(
    config: Config, items: Mapping[ItemKey, Item], sales: SqlSalesStore
) -> int:
    """Import the ``[catalog] sales`` file when the database holds no sales at all; return
    how many day totals were added.

    The daemon's recompute reads the database: without this, a shop whose history is only in
    the configured file got the new-item rule stored over the levels that history gives (#11
    item 16). Deduplicated by the file's hash, as ``stockwatch sales import`` is.
    """
    if not config.model.catalog.sales or sales.last_day() is not None:  # max(day): an index probe
        return 0
    from stockwatch.adapters.db.sales import ImportRecord
    from stockwatch.adapters.files import FileFormatError
    from stockwatch.adapters.sales_import import read_sales_file

    path = config.resolve(config.model.catalog.sales)
    known = {key.sku for key in items} | {str(key) for key in items} if items else None
    try:
        parsed = read_sales_file(path, known, ZoneInfo(config.model.general.timezone))
    except (OSError, FileFormatError) as exc:  # `config validate` names it; the daemon goes on
        logging.getLogger("stockwatch.recompute").warning("sales file not imported: %s", exc)
        return 0
    if sales.imported(parsed.sha256) is not None:
        return 0
    record = ImportRecord(
        parsed.sha256, str(path), datetime.now(UTC), parsed.rows_read, len(parsed.problems)
    )
    return len(parsed.totals) if sales.add_import(record, parsed.totals) else 0


def recompute_levels(
    keys: Sequence[str],
    as_of: date,
    computer: BulkLevelsComputer,
    store: SqlThresholdStore,
    now: datetime,
    *,
    review_factor: float,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    has_sales: bool = True,
    allow_no_sales: bool = False,
) -> RecomputeReport:
    """The one recompute of stored levels (CLI, daemon, promotions, imported orders, backtest
    --apply): ``service.recompute``'s rules on arrays, only the changed items written in bulk
    (``bulk.recompute``)."""
    from stockwatch.adapters.db.engine import in_memory, is_sqlite
    from stockwatch.bulk.recompute import recompute_bulk

    return recompute_bulk(
        keys,
        as_of,
        computer,
        store,
        now,
        review_factor=review_factor,
        chunk=chunk,
        progress=progress,
        has_sales=has_sales,
        allow_no_sales=allow_no_sales,
        # PostgreSQL: chunk k written on a second connection while chunk k+1 is computed (the
        # server's COPY and this process's numpy at once on two cores); SQLite's writes are
        # this process's CPU, nothing to overlap (its writes hold the GIL between rows).
        write_ahead=not is_sqlite(store.engine),
        # Either: the stored levels read (SQLite's aggregate runs without the GIL) while the
        # first chunk is computed; an in-memory SQLite has no second connection to read from.
        read_ahead=not in_memory(store.engine),
    )
