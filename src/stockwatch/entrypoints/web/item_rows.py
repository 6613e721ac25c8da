"""The dashboard's rows: every item with its state, levels, stock and open task, worst first."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.tasks import OPEN, SqlTaskStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.core.model import Item, ItemKey, Phase, Tier
from stockwatch.ports import Store
from stockwatch.service.polling import LevelsFor
from stockwatch.service.purchasing import PurchaseOrders
from stockwatch.service.status import Status
from stockwatch.wiring.purchasing import purchase_orders

ALL_TASKS = 1_000_000  # open tasks are one per item at most: list them all


@dataclass(frozen=True)
class Sources:
    """The SQL side tables the dashboard reads besides the Store (None: not available)."""

    outbox: SqlOutbox | None = None
    tasks: SqlTaskStore | None = None
    thresholds: SqlThresholdStore | None = None
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
            purchase_orders(engine),
        )


@dataclass(frozen=True)
class ItemRow:
    key: ItemKey
    title: str
    supplier: str
    tier: Tier
    phase: Phase
    available: int | None  # the position: on hand − committed + on order
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
    shelf: int | None = None  # on hand − committed: what customers can buy now

    def sort_key(self) -> tuple[int, float, str]:
        cover = math.inf if self.days_of_cover is None else self.days_of_cover
        return (-int(self.tier), cover, str(self.key))


def item_rows(
    store: Store,
    sources: Sources,
    status: Status,
    only: ItemKey | None = None,
    levels_for: LevelsFor | None = None,
) -> list[ItemRow]:
    """Every active item with its state, levels and stock, worst first."""
    items = [i for i in store.items() if only is None or i.key == only]
    states = store.alert_states()
    readings = store.latest_good_readings()
    levels = _levels(store, sources, items, levels_for)
    stale = {s.key for s in status.stale}
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
        velocity = lv[3] if lv else 0.0
        shelf = reading.reading.shelf if reading else None
        cover = None
        stock = shelf if shelf is not None else available
        if stock is not None and velocity > 0:
            cover = max(stock, 0) / velocity  # how long the shelf lasts
        rows.append(
            ItemRow(
                key=item.key,
                title=item.title,
                supplier=item.supplier,
                tier=state.tier if state else Tier.OK,
                phase=state.phase if state else Phase.OK,
                available=available,
                on_hand=reading.reading.on_hand if reading else None,
                levels=lv[:3] if lv else None,
                velocity=velocity,
                days_of_cover=cover,
                last_reading_at=state.last_reading_at if state else None,
                failed_reads=state.failed_reads if state else 0,
                stale=item.key in stale,
                acked=state.acked if state else False,
                snoozed_until=state.snoozed_until if state else None,
                task_id=tasks.get(str(item.key)),
                shelf=shelf,
            )
        )
    return sorted(rows, key=ItemRow.sort_key)


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
