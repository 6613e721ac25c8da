"""Every recompute path uses the same inputs: the orders/promotions path (``recompute_items``)
and the scheduled recompute (``threshold_recompute``) both blend the lead times learned from
received purchase orders into the stored levels."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.sales import DayTotal, ImportRecord, SqlSalesStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.wiring.compose import LevelCache, open_store, threshold_recompute
from stockwatch.wiring.promotions import PROMOTION_REVIEW_FACTOR, recompute_items

AS_OF = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 4, tzinfo=UTC)
DAY = timedelta(days=1)


def _shop(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "items.csv").write_text(
        "sku,title,supplier,lead_time_days,lead_time_sd_days\n"
        "MUG,马克杯,义乌杯厂,2,0.5\n"
        "CUP,水杯,金华杯厂,2,0.5\n",
        encoding="utf-8",
    )
    config = tmp_path / "stockwatch.toml"
    config.write_text(
        '[general]\ndata_dir = "data"\n[catalog]\nitems = "items.csv"\n'
        "[thresholds]\nreview_factor = 1000\n",
        encoding="utf-8",
    )
    cfg = load_config(config, env={})
    store = open_store(cfg)
    totals = [
        DayTotal(sku, AS_OF - (i + 1) * DAY, 5 + (i * 7) % 4)
        for sku in ("MUG", "CUP")
        for i in range(60)
    ]
    SqlSalesStore(store.engine).add_import(ImportRecord("x", "sales.csv", NOW, 120, 0), totals)
    orders = SqlPurchaseOrderStore(store.engine)
    for n, lead in enumerate((9, 10, 11)):  # the supplier takes five times the declared 2 days
        ordered = NOW - (60 - 15 * n) * DAY
        placed, _ = orders.add(
            PurchaseOrder(ItemKey("MUG"), "义乌杯厂", 50, ordered, ordered + 2 * DAY), ordered
        )
        orders.receive(placed.id or 0, None, ordered + lead * DAY)
    return cfg, store


def _lead_orders(store, sku: str) -> float | None:  # type: ignore[no-untyped-def]
    row = SqlThresholdStore(store.engine).current([sku])[sku]
    assert row.active is not None
    return row.active.levels.basis.input("lead_orders")


def test_the_promotions_path_uses_learned_lead_times_like_the_scheduled_recompute(
    tmp_path: Path,
) -> None:
    cfg, store = _shop(tmp_path)
    try:
        cache = LevelCache(cfg, AS_OF, store.engine)
        cache.refresh()
        recompute_items(cfg, store, cache, ["MUG"], NOW, PROMOTION_REVIEW_FACTOR)
        assert _lead_orders(store, "MUG") == 3.0
        by_orders = SqlThresholdStore(store.engine).current(["MUG"])["MUG"].active
        asyncio.run(threshold_recompute(cfg, store, cache)(NOW + DAY))
        scheduled = SqlThresholdStore(store.engine).current(["MUG", "CUP"])
        assert scheduled["MUG"].active is not None and by_orders is not None
        # Same inputs, same levels: the scheduled run finds nothing to change for MUG.
        assert scheduled["MUG"].active.levels.t2 == by_orders.levels.t2
        assert _lead_orders(store, "CUP") is None  # no received orders for it or its supplier
    finally:
        store.engine.dispose()


def test_a_promotion_applied_before_the_first_recompute_uses_the_configured_sales_file(
    tmp_path: Path,
) -> None:
    # A new user's first `stockwatch run` of the sample: the promotions loop ran before the
    # scheduled recompute had imported `[catalog] sales`, stored the new-item rule for the
    # three promotion items (USB-C-CABLE-1M T2 27) and the levels from the history (T2 470)
    # then waited for review as a ×17 jump. The promotions path imports the file first too.
    from stockwatch.wiring.promotions import PromotionApplier

    (tmp_path / "items.csv").write_text(
        "sku,title,tags,lead_time_days\nMUG,马克杯,促销,5\n", encoding="utf-8"
    )
    rows = "".join(f"{AS_OF - (i + 1) * DAY},MUG,{40 + i % 5}\n" for i in range(60))
    (tmp_path / "sales.csv").write_text("date,sku,quantity\n" + rows, encoding="utf-8")
    config = tmp_path / "stockwatch.toml"
    config.write_text(
        '[general]\ndata_dir = "data"\n[catalog]\nitems = "items.csv"\nsales = "sales.csv"\n'
        '[[promotions]]\nname = "双12"\nstart = 2026-06-10\nend = 2026-06-12\n'
        'multiplier = 2.0\ntags = ["促销"]\n',
        encoding="utf-8",
    )
    cfg = load_config(config, env={})
    store = open_store(cfg)
    try:
        cache = LevelCache(cfg, AS_OF, store.engine)
        cache.refresh()
        assert PromotionApplier(cfg, store, cache).run(NOW) == 1
        row = SqlThresholdStore(store.engine).current(["MUG"])["MUG"]
        assert row.active is not None
        assert row.active.levels.t2 > 200  # ~42 a day over 5 days; the new-item rule gave 9
        asyncio.run(threshold_recompute(cfg, store, cache)(NOW))
        after = SqlThresholdStore(store.engine).current(["MUG"])["MUG"]
        assert after.review is None  # nothing held for review behind the new-item rule
    finally:
        store.engine.dispose()


def test_an_in_memory_database_is_recomputed_without_a_second_connection(
    tmp_path: Path,
) -> None:
    """The stored levels are read on a second thread while the first chunk is computed, but
    each thread of an in-memory SQLite sees a database of its own (without the table): that
    one is read in turn."""
    import numpy as np

    from stockwatch.adapters.db import migrate
    from stockwatch.adapters.db.engine import in_memory, make_engine
    from stockwatch.bulk.computer import BulkLevelsComputer
    from stockwatch.core.model import Item
    from stockwatch.wiring.sales_levels import recompute_levels

    assert not in_memory(make_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    (tmp_path / "stockwatch.toml").write_text("[thresholds]\nservice_level = 0.95\n")
    cfg = load_config(tmp_path / "stockwatch.toml", env={})
    items = {ItemKey(s): Item(s, lead_time_days=3.0) for s in ("CUP", "MUG")}

    def history(keys: object, as_of: date, days: int) -> np.ndarray:
        return np.full((2, days), 4, np.int32)

    for url in ("sqlite://", "sqlite+pysqlite:///file:shop?mode=memory&uri=true"):
        engine = make_engine(url)
        migrate.upgrade(engine)
        assert in_memory(engine), url
        computer = BulkLevelsComputer(cfg, items, history, promotions=[], lead_times={})
        store = SqlThresholdStore(engine)
        for _ in range(2):  # the second one reads the levels the first stored
            report = recompute_levels(["CUP", "MUG"], AS_OF, computer, store, NOW, review_factor=3)
        assert (report.written, report.unchanged, report.errors) == (0, 2, []), url
        assert store.current(["CUP"])["CUP"].active is not None
        engine.dispose()
