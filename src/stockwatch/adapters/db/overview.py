"""The dashboard's overview in SQL: one page of items, worst first, filtered, with counts.

At 100,000 items the old overview loaded every item, state and latest reading into Python
(17.8 s, 35 MB of HTML). Here the database filters, sorts and pages: the tier, available
position and failed reads are plain columns of ``alert_states`` (migration 0005), so "worst
first" is two index-backed segments:

1. items at risk (``tier_rank > 0``, few), ordered by tier, then days of cover, then key;
2. the rest, ordered by key (the primary key: no sort at all).

A page is cut from the first segment and continued in the second. Only the rows of the page
get their latest good reading, threshold version and open task.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from stockwatch.adapters.db import tables as t
from stockwatch.adapters.db.codec import item_from_row, state_from_row
from stockwatch.adapters.db.engine import READ_ONLY
from stockwatch.adapters.db.tier_counts import tier_counts
from stockwatch.core.model import AlertState, Item

OPEN = "open"
OPEN_ORDER_STATUSES = ("ordered", "partial")
TIER_RANKS = {"OK": 0, "T1": 1, "T2": 2, "T3": 3, "OUT": 4}


@dataclass(frozen=True)
class OverviewFilter:
    """What the merchant typed or picked; empty means "any"."""

    search: str = ""  # part of the SKU, title or supplier
    tier: str = ""  # OK, T1, T2, T3, OUT, or "risk" (T1 and worse)
    category: str = ""
    supplier: str = ""
    tag: str = ""
    warehouse: str = ""
    stale: bool = False  # no reading, failed reads, or older than stale_after
    open_task: bool = False  # an open replenishment task (an order to place)
    ordered: bool = False  # an open purchase order (placed, not all received)

    def active(self) -> bool:
        return any(
            (
                self.search,
                self.tier,
                self.category,
                self.supplier,
                self.tag,
                self.warehouse,
                self.stale,
                self.open_task,
                self.ordered,
            )
        )


@dataclass(frozen=True)
class OverviewItem:
    key: str
    item: Item
    tier_rank: int
    state: AlertState | None
    available: int | None
    on_hand: int | None
    levels: tuple[int, int, int] | None  # the active stored version (None: see the caller)
    velocity: float
    has_version: bool  # an active stored version decides (levels None: it disables alerts)
    event_levels: tuple[int, int, int, float] | None  # the newest event's, when no version
    task_id: int | None
    stale: bool
    shelf: int | None = None  # on hand − committed of the newest reading: what customers see


@dataclass(frozen=True)
class OverviewPage:
    items: list[OverviewItem]
    total: int  # items matching the filter
    counts: dict[int, int] = field(default_factory=dict)  # tier rank -> matching items
    offset: int = 0
    limit: int = 50


class SqlOverview:
    """Reads the overview from the SQL store (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(
        self,
        flt: OverviewFilter,
        now: datetime,
        stale_after: timedelta,
        offset: int = 0,
        limit: int = 50,
        only: str | None = None,
    ) -> OverviewPage:
        i, s = t.items, t.alert_states
        where = self._where(flt, now, stale_after)
        if only is not None:
            where.append(i.c.key == only)
        joined = i.outerjoin(s, s.c.item_key == i.c.key)
        rank = func.coalesce(s.c.tier_rank, 0)
        with self._read() as conn:
            if flt.active() or only is not None:
                counted = conn.execute(
                    select(rank, func.count()).select_from(joined).where(*where).group_by(rank)
                )
                counts = {int(r): int(n) for r, n in counted}
            else:
                counts = self._all_counts(conn)
            total = sum(counts.values())
            at_risk = total - counts.get(0, 0)
            keys: list[str] = []
            if offset < at_risk:
                keys += self._risk_keys(conn, joined, where, counts, offset, limit)
            if len(keys) < limit:
                start = max(0, offset - at_risk)
                query = (
                    select(i.c.key)
                    .select_from(joined)
                    .where(*where, or_(s.c.item_key.is_(None), s.c.tier_rank == 0))
                    .order_by(i.c.key)
                    .offset(start)
                    .limit(limit - len(keys))
                )
                keys += [row.key for row in conn.execute(query)]
            items = self._details(conn, keys, now, stale_after)
        return OverviewPage(items, total, counts, offset, limit)

    def _read(self) -> Any:
        # A plain BEGIN on SQLite: pages read a snapshot and never take the write lock.
        return self.engine.connect().execution_options(**{READ_ONLY: True})

    def _all_counts(self, conn: Any) -> dict[int, int]:
        """Counts per tier of every active item: the sums the triggers of migration 0011 keep
        (a count over all 100k items and a join cost ~200 ms per page on PostgreSQL)."""
        return tier_counts(conn)

    def _risk_keys(
        self,
        conn: Any,
        joined: Any,
        where: Sequence[ColumnElement[bool]],
        counts: dict[int, int],
        offset: int,
        limit: int,
    ) -> list[str]:
        """The at-risk part of the page, tier by tier, worst first.

        Within a tier the order (days of cover) needs every row of the tier; the counts tell
        which tiers the page spans, so only those are sorted (the first page sorts the ~1,000
        OUT items, not all 10,000 at risk).
        """
        keys: list[str] = []
        skip = offset
        for rank in sorted((r for r in counts if r > 0), reverse=True):
            if skip >= counts[rank]:
                skip -= counts[rank]
                continue
            keys += self._tier_keys(conn, joined, where, rank, skip, limit - len(keys))
            skip = 0
            if len(keys) >= limit:
                break
        return keys

    def _tier_keys(
        self,
        conn: Any,
        joined: Any,
        where: Sequence[ColumnElement[bool]],
        rank: int,
        offset: int,
        limit: int,
    ) -> list[str]:
        i, s, th = t.items, t.alert_states, t.thresholds
        # A join, not a subquery per row: an item has at most one active version.
        levels = joined.outerjoin(th, and_(th.c.item_key == i.c.key, t.status_is("active")))
        velocity = th.c.velocity
        floor_zero = case((s.c.available < 0, 0), else_=s.c.available)
        cover = case((velocity > 0, cast(floor_zero, Float) / velocity), else_=None)
        query: Select[Any] = (
            select(i.c.key)
            .select_from(levels)
            .where(*where, s.c.tier_rank == rank)
            .order_by(cover.asc().nulls_last(), i.c.key)
            .offset(offset)
            .limit(limit)
        )
        return [row.key for row in conn.execute(query)]

    def _where(
        self, flt: OverviewFilter, now: datetime, stale_after: timedelta
    ) -> list[ColumnElement[bool]]:
        i, s = t.items, t.alert_states
        where: list[ColumnElement[bool]] = [i.c.active == true()]
        if flt.search:
            q = flt.search.strip()
            where.append(
                or_(
                    i.c.key.icontains(q, autoescape=True),
                    i.c.title.icontains(q, autoescape=True),
                    i.c.supplier.icontains(q, autoescape=True),
                )
            )
        if flt.tier == "risk":
            where.append(s.c.tier_rank > 0)
        elif flt.tier in TIER_RANKS:
            rank = TIER_RANKS[flt.tier]
            where.append(
                func.coalesce(s.c.tier_rank, 0) == rank if rank == 0 else (s.c.tier_rank == rank)
            )
        elif flt.tier:
            where.append(false())  # an unknown tier matches nothing (the page says so)
        if flt.category:
            where.append(i.c.category == flt.category)
        if flt.supplier:
            where.append(i.c.supplier == flt.supplier)
        if flt.warehouse:
            where.append(i.c.warehouse == flt.warehouse)
        if flt.tag:
            # Tags are a JSON list stored as text; json.dumps gives the exact quoted form.
            where.append(cast(i.c.tags, String).contains(json.dumps(flt.tag), autoescape=True))
        if flt.stale:
            where.append(_stale(now, stale_after))
        if flt.open_task:
            task = t.replenishment_tasks
            where.append(exists().where(task.c.status == OPEN, task.c.item_key == i.c.key))
        if flt.ordered:
            po = t.purchase_orders
            where.append(
                exists().where(po.c.item_key == i.c.key, po.c.status.in_(OPEN_ORDER_STATUSES))
            )
        return where

    def _details(
        self, conn: Any, keys: list[str], now: datetime, stale_after: timedelta
    ) -> list[OverviewItem]:
        if not keys:
            return []
        i, s, r, th, task = t.items, t.alert_states, t.readings, t.thresholds, t.replenishment_tasks
        latest = (
            select(r.c.id)
            .where(r.c.item_key == i.c.key, r.c.on_hand.is_not(None))
            .order_by(r.c.observed_at.desc(), r.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(
                i,
                s.c.state,
                s.c.version,
                s.c.last_reading_at,
                func.coalesce(s.c.tier_rank, 0).label("rank"),
                s.c.available,
                latest.label("reading_id"),
                _stale(now, stale_after).label("stale"),
            )
            .select_from(i.outerjoin(s, s.c.item_key == i.c.key))
            .where(i.c.key.in_(keys))
        )
        rows = {row.key: row for row in conn.execute(query)}
        reading_ids = [row.reading_id for row in rows.values() if row.reading_id is not None]
        readings = (
            {
                row.item_key: row
                for row in conn.execute(
                    select(r.c.item_key, r.c.on_hand, r.c.committed, r.c.in_transit).where(
                        r.c.id.in_(reading_ids)
                    )
                )
            }
            if reading_ids
            else {}
        )
        levels = {
            row.item_key: row
            for row in conn.execute(
                select(th.c.item_key, th.c.t1, th.c.t2, th.c.t3, th.c.velocity).where(
                    th.c.item_key.in_(keys), t.status_is("active")
                )
            )
        }
        events = {}
        missing = [k for k in keys if k not in levels]
        if missing:  # no stored version: the levels of the item's newest event that has them
            e = t.alert_events
            newest = (
                select(func.max(e.c.id))
                .where(e.c.item_key.in_(missing), e.c.t1.is_not(None))
                .group_by(e.c.item_key)
            )
            events = {
                row.item_key: row
                for row in conn.execute(
                    select(e.c.item_key, e.c.t1, e.c.t2, e.c.t3, e.c.velocity).where(
                        e.c.id.in_(newest)
                    )
                )
            }
        tasks = {
            row.item_key: row.id
            for row in conn.execute(
                select(task.c.item_key, task.c.id).where(
                    task.c.item_key.in_(keys), task.c.status == OPEN
                )
            )
        }
        out = []
        for key in keys:
            row = rows[key]
            reading = readings.get(key)
            state = None
            if row.state is not None:
                state = state_from_row(row.state, row.version, row.last_reading_at, row.available)
            available = row.available
            if available is None and reading is not None:
                available = reading.on_hand - reading.committed + reading.in_transit
            lv = levels.get(key)
            disabled = lv is not None and lv.t3 <= 0  # codec.levels_from_row's rule
            out.append(
                OverviewItem(
                    key=key,
                    item=item_from_row(row),
                    tier_rank=int(row.rank),
                    state=state,
                    available=available,
                    on_hand=reading.on_hand if reading is not None else None,
                    levels=None if lv is None or disabled else (lv.t1, lv.t2, lv.t3),
                    velocity=float(lv.velocity) if lv is not None and not disabled else 0.0,
                    has_version=lv is not None,
                    event_levels=_event_levels(events.get(key)),
                    task_id=tasks.get(key),
                    stale=bool(row.stale),
                    shelf=reading.on_hand - reading.committed if reading is not None else None,
                )
            )
        return out

    def open_tasks(self) -> int:
        task = t.replenishment_tasks
        with self._read() as conn:
            query = select(func.count()).select_from(task).where(task.c.status == OPEN)
            return int(conn.execute(query).scalar_one())

    def choices(self, limit: int = 500) -> dict[str, list[str]]:
        """The distinct categories, suppliers and warehouses (the filter menus), each sorted.

        A loose index scan: each next value is one index lookup (``min(col) > previous``), so
        200 suppliers cost 200 lookups, not a scan of 100,000 items (PostgreSQL has no skip
        scan; a plain DISTINCT took ~80 ms per menu there).
        """
        out: dict[str, list[str]] = {}
        with self._read() as conn:
            for name in ("category", "supplier", "warehouse"):
                # ``name`` is one of three constants above, never input.
                query = text(
                    f"WITH RECURSIVE menu(v, n) AS ("
                    f" SELECT min({name}), 1 FROM items WHERE {name} > ''"
                    f" UNION ALL SELECT (SELECT min({name}) FROM items WHERE {name} > menu.v),"
                    f" n + 1 FROM menu WHERE menu.v IS NOT NULL AND n < :limit)"
                    f" SELECT v FROM menu WHERE v IS NOT NULL"
                )
                out[name] = [str(v) for v in conn.execute(query, {"limit": limit}).scalars()]
        return out


def _event_levels(row: Any) -> tuple[int, int, int, float] | None:
    if row is None:
        return None
    return (row.t1, row.t2, row.t3, float(row.velocity or 0.0))


def _stale(now: datetime, stale_after: timedelta) -> ColumnElement[bool]:
    """As ``service.status.stale_items``: never read, failed reads, or no reading lately."""
    s = t.alert_states
    return or_(
        s.c.item_key.is_(None),
        s.c.failed_reads > 0,
        and_(s.c.last_reading_at.is_not(None), s.c.last_reading_at < now - stale_after),
    )
