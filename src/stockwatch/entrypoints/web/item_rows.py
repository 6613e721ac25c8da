"""The dashboard's rows: items with their state, levels, stock and open task, worst first.

With the SQL store a page comes from ``SqlOverview`` (filtered, sorted and paged in the
database); other stores (the in-memory one of the tests) get the same result in Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from stockwatch.core.model import AlertState, Item, ItemKey, Phase, Tier
from stockwatch.ports import Store
from stockwatch.service.polling import LevelsFor
from stockwatch.service.purchasing import PurchaseOrders
from stockwatch.service.status import stale_items
from stockwatch.wiring.purchasing import purchase_orders
from stockwatch.wiring.web import (
    OPEN,
    OverviewFilter,
    OverviewItem,
    SqlAttention,
    SqlChannelStatus,
    SqlOutbox,
    SqlOverview,
    SqlSalesStore,
    SqlTaskStore,
    SqlThresholdStore,
)

ALL_TASKS = 1_000_000  # open tasks are one per item at most: list them all


@dataclass(frozen=True)
class Sources:
    """The SQL side tables the dashboard reads besides the Store (None: not available)."""

    outbox: SqlOutbox | None = None
    tasks: SqlTaskStore | None = None
    thresholds: SqlThresholdStore | None = None
    overview: SqlOverview | None = None
    sales: SqlSalesStore | None = None
    attention: SqlAttention | None = None
    channel_switch: SqlChannelStatus | None = None
    orders: PurchaseOrders | None = None

    @classmethod
    def for_store(cls, store: Store) -> Sources:
        engine = getattr(store, "engine", None)
        if not isinstance(engine, Engine):
            return cls()
        return cls(
            SqlOutbox(engine),
            SqlTaskStore(engine),
            SqlThresholdStore(engine),
            SqlOverview(engine),
            SqlSalesStore(engine),
            SqlAttention(engine),
            SqlChannelStatus(engine),
            purchase_orders(engine),
        )


@dataclass(frozen=True)
class ItemRow:
    key: ItemKey
    title: str
    supplier: str
    tier: Tier
    phase: Phase
    available: int | None
    on_hand: int | None
    levels: tuple[int, int, int] | None
    velocity: float
    days_of_cover: float | None
    last_reading_at: datetime | None
    failed_reads: int
    stale: bool
    acked: bool
    snoozed_until: datetime | None
    task_id: int | None
    category: str = ""
    warehouse: str | None = None
    tags: tuple[str, ...] = ()
    shelf: int | None = None  # on hand − committed: what a customer can buy (no goods on the way)

    def sort_key(self) -> tuple[int, float, str]:
        cover = math.inf if self.days_of_cover is None else self.days_of_cover
        return (-int(self.tier), cover, str(self.key))


@dataclass(frozen=True)
class RowsPage:
    rows: list[ItemRow]
    total: int  # rows matching the filter
    counts: dict[Tier, int] = field(default_factory=dict)  # per tier, matching the filter
    offset: int = 0
    limit: int = 50


def rows_page(
    store: Store,
    sources: Sources,
    flt: OverviewFilter,
    now: datetime,
    stale_after: timedelta,
    offset: int = 0,
    limit: int = 50,
    levels_for: LevelsFor | None = None,
    only: ItemKey | None = None,
) -> RowsPage:
    """One page of items, worst first, matching ``flt``."""
    if sources.overview is None:
        return _python_page(store, sources, flt, now, stale_after, offset, limit, levels_for, only)
    page = sources.overview.page(
        flt, now, stale_after, offset, limit, None if only is None else str(only)
    )
    rows = [_row(found, levels_for) for found in page.items]
    counts = {tier: page.counts.get(int(tier), 0) for tier in Tier}
    return RowsPage(rows, page.total, counts, offset, limit)


def _row(found: OverviewItem, levels_for: LevelsFor | None) -> ItemRow:
    key = ItemKey.parse(found.key)
    levels: tuple[int, int, int] | None = found.levels
    velocity = found.velocity
    if not found.has_version:
        configured = None if levels_for is None else levels_for(key, found.item)
        if configured is not None:
            levels = None if configured.disabled else (configured.t1, configured.t2, configured.t3)
            velocity = 0.0 if configured.disabled else configured.velocity
        elif found.event_levels is not None:
            levels, velocity = found.event_levels[:3], found.event_levels[3]
    state = found.state or AlertState()
    return _make_row(
        key,
        found.item,
        state,
        found.state is not None,
        found.available,
        found.on_hand,
        levels,
        velocity,
        found.stale,
        found.task_id,
        found.shelf,
    )


def _make_row(
    key: ItemKey,
    item: Item,
    state: AlertState,
    has_state: bool,
    available: int | None,
    on_hand: int | None,
    levels: tuple[int, int, int] | None,
    velocity: float,
    stale: bool,
    task_id: int | None,
    shelf: int | None = None,
) -> ItemRow:
    cover = None
    if available is not None and velocity > 0:
        cover = max(available, 0) / velocity
    return ItemRow(
        key=key,
        title=item.title,
        supplier=item.supplier,
        tier=state.tier if has_state else Tier.OK,
        phase=state.phase if has_state else Phase.OK,
        available=available,
        on_hand=on_hand,
        levels=levels,
        velocity=velocity if levels is not None else 0.0,
        days_of_cover=cover,
        last_reading_at=state.last_reading_at,
        failed_reads=state.failed_reads,
        stale=stale,
        acked=state.acked,
        snoozed_until=state.snoozed_until,
        task_id=task_id,
        category=item.category,
        warehouse=item.warehouse,
        tags=tuple(sorted(item.tags)),
        shelf=shelf,
    )


def _python_page(
    store: Store,
    sources: Sources,
    flt: OverviewFilter,
    now: datetime,
    stale_after: timedelta,
    offset: int,
    limit: int,
    levels_for: LevelsFor | None,
    only: ItemKey | None,
) -> RowsPage:
    """The same page without SQL (small in-memory stores): every item, then filter and cut."""
    items = [i for i in store.items() if only is None or i.key == only]
    states = store.alert_states()
    readings = store.latest_good_readings()
    levels = _levels(store, sources, items, levels_for)
    stale = {s.key for s in stale_items(states, [i.key for i in items], now, stale_after)}
    tasks = {
        t.item_key: t.id for t in (sources.tasks.list(OPEN, ALL_TASKS) if sources.tasks else [])
    }
    rows = []
    for item in items:
        state = states.get(item.key)
        lv = levels.get(item.key)
        available = state.last_available if state else None
        reading = readings.get(item.key)
        if available is None and reading is not None:
            available = reading.reading.available
        rows.append(
            _make_row(
                item.key,
                item,
                state or AlertState(),
                state is not None,
                available,
                reading.reading.on_hand if reading else None,
                lv[:3] if lv else None,
                lv[3] if lv else 0.0,
                item.key in stale,
                tasks.get(str(item.key)),
                reading.reading.shelf if reading else None,
            )
        )
    rows = sorted((r for r in rows if _matches(r, flt)), key=ItemRow.sort_key)
    counts = {tier: sum(1 for r in rows if r.tier is tier) for tier in Tier}
    return RowsPage(rows[offset : offset + limit], len(rows), counts, offset, limit)


def _matches(row: ItemRow, flt: OverviewFilter) -> bool:
    q = flt.search.strip().lower()
    if q and not any(q in v.lower() for v in (str(row.key), row.title, row.supplier)):
        return False
    if flt.tier == "risk" and row.tier is Tier.OK:
        return False
    if flt.tier and flt.tier != "risk" and row.tier.name != flt.tier:
        return False
    return (
        (not flt.category or row.category == flt.category)
        and (not flt.supplier or row.supplier == flt.supplier)
        and (not flt.warehouse or row.warehouse == flt.warehouse)
        and (not flt.tag or flt.tag in row.tags)
        and (not flt.stale or row.stale)
        and (not flt.open_task or row.task_id is not None)
        and not flt.ordered  # purchase orders live in SQL only
    )


def _levels(
    store: Store, sources: Sources, items: Sequence[Item], levels_for: LevelsFor | None
) -> dict[ItemKey, tuple[int, int, int, float]]:
    """What the evaluator uses: an active stored version, else the configured levels; without
    the configured ones (``levels_for`` not wired) the levels of the item's last event."""
    out = dict(store.latest_event_levels())
    for item in items:
        lv = None if levels_for is None else levels_for(item.key, item)
        if lv is not None and not lv.disabled:
            out[item.key] = (lv.t1, lv.t2, lv.t3, lv.velocity)
        elif lv is not None:
            out.pop(item.key, None)
    if sources.thresholds is not None:
        for name, current in sources.thresholds.current([str(i.key) for i in items]).items():
            if current.active is None:
                continue
            lv = current.active.levels
            if lv.disabled:
                out.pop(ItemKey.parse(name), None)
            else:
                out[ItemKey.parse(name)] = (lv.t1, lv.t2, lv.t3, lv.velocity)
    return out
