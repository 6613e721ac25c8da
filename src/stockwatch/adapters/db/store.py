"""SqlStore: the daemon's storage on SQLite or PostgreSQL (SQLAlchemy Core).

The alert path is one unit of work: ``with store.transaction() as tx`` loads the state, saves it
only if its version is unchanged, appends events under a unique key and writes the outbox rows;
nothing is kept unless ``tx.commit()`` runs. A crash therefore loses no alert and, because the
keys are unique, a replayed evaluation sends nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from stockwatch.adapters.db import batch, calm
from stockwatch.adapters.db import tables as t
from stockwatch.adapters.db.codec import (
    aware_time,
    item_from_row,
    item_to_row,
    levels_from_row,
    reading_from_row,
    reading_to_row,
    sqlite_time,
    state_from_row,
)
from stockwatch.adapters.db.engine import READ_ONLY
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.purchase_orders import (
    open_orders,
    recent_receipts_of,
    take_order_ack,
)
from stockwatch.adapters.db.tier_counts import compact as compact_tier_counts
from stockwatch.core.model import AlertState, Item, ItemKey, Reading, TierLevels
from stockwatch.core.purchasing import BookedIn, PurchaseOrder
from stockwatch.ports import (
    AlertEvent,
    CalmRule,
    OutboxBacklog,
    OutboxEntry,
    OutgoingMessage,
    PollRun,
    PushMessage,
    StateSave,
    StoredReading,
)


def _insert(conn: Connection, table: Table) -> Any:
    """Return an INSERT that supports ON CONFLICT on both dialects."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


_PUSH_INSERT = (
    "INSERT INTO push_messages (msg_id, topic, gmt_born, received_at, payload, status)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (msg_id) DO NOTHING"
)
_READINGS_INSERT = (
    "INSERT INTO readings (item_key, observed_at, received_at, source, on_hand, committed,"
    " in_transit, offer_status, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _driver_style(
    conn: Connection,
) -> tuple[Callable[[datetime], object], Callable[[str], str]]:
    """Return how this driver takes timestamps, and its placeholder style."""
    if conn.dialect.name == "sqlite":
        return sqlite_time, lambda sql: sql.replace("%s", "?")
    return aware_time, lambda sql: sql


class SqlTransaction:
    """One unit of work on one connection; see ``ports.Transaction``."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.committed = False

    def item(self, key: ItemKey) -> Item | None:
        row = self.conn.execute(select(t.items).where(t.items.c.key == str(key))).first()
        return item_from_row(row) if row else None

    def alert_state(self, key: ItemKey) -> AlertState:
        s = t.alert_states
        row = self.conn.execute(
            select(s.c.state, s.c.version, s.c.last_reading_at, s.c.available).where(
                s.c.item_key == str(key)
            )
        ).first()
        if row is None:
            return AlertState()
        return state_from_row(row.state, row.version, row.last_reading_at, row.available)

    def save_alert_state(
        self, key: ItemKey, state: AlertState, expected_version: int, now: datetime
    ) -> bool:
        values = batch.state_columns(state, now)  # the same columns as the batched save
        if expected_version == 0:
            stmt = (
                _insert(self.conn, t.alert_states)
                .values(item_key=str(key), **values)
                .on_conflict_do_nothing(index_elements=["item_key"])
                .returning(t.alert_states.c.item_key)
            )
            # RETURNING, not rowcount: drivers disagree on rowcount after ON CONFLICT.
            return self.conn.execute(stmt).first() is not None
        result = self.conn.execute(
            update(t.alert_states)
            .where(
                t.alert_states.c.item_key == str(key),
                t.alert_states.c.version == expected_version,
            )
            .values(**values)
        )
        return result.rowcount == 1

    def readings_after(self, key: ItemKey, after: datetime | None) -> list[StoredReading]:
        query = select(t.readings).where(t.readings.c.item_key == str(key))
        if after is not None:
            query = query.where(t.readings.c.observed_at > after)
        rows = self.conn.execute(query.order_by(t.readings.c.observed_at, t.readings.c.id))
        return [StoredReading(r.id, reading_from_row(r), r.received_at) for r in rows]

    def last_good_reading(self, key: ItemKey, at: datetime) -> Reading | None:
        row = self.conn.execute(
            select(t.readings)
            .where(
                t.readings.c.item_key == str(key),
                t.readings.c.observed_at <= at,
                t.readings.c.on_hand.is_not(None),
            )
            .order_by(t.readings.c.observed_at.desc(), t.readings.c.id)
            .limit(1)
        ).first()
        return reading_from_row(row) if row else None

    def active_levels(self, key: ItemKey) -> TierLevels | None:
        row = self.conn.execute(
            select(t.thresholds)
            .where(t.thresholds.c.item_key == str(key), t.status_is("active"))
            .order_by(t.thresholds.c.version.desc())
            .limit(1)
        ).first()
        return levels_from_row(row) if row else None

    def add_event(self, event: AlertEvent) -> int | None:
        t1, t2, t3, velocity = event.levels or (None, None, None, None)
        stmt = (
            _insert(self.conn, t.alert_events)
            .values(
                idempotency_key=event.idempotency_key,
                item_key=str(event.item_key),
                kind=event.kind,
                tier=event.tier,
                previous_tier=event.previous_tier,
                at=event.at,
                episode=event.episode,
                available=event.available,
                on_hand=event.on_hand,
                t1=t1,
                t2=t2,
                t3=t3,
                velocity=velocity,
                detail=event.detail,
                actor=event.actor,
                payload=dict(event.payload),
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(t.alert_events.c.id)
        )
        row = self.conn.execute(stmt).first()
        return None if row is None else int(row.id)

    def enqueue(
        self, event_id: int | None, routes: Sequence[tuple[str, OutgoingMessage]], now: datetime
    ) -> int:
        # The delivery side owns the row format; this joins its enqueue to our transaction.
        return SqlOutbox(self.conn.engine).enqueue(self.conn, routes, now, event_id)

    def set_next_poll(self, key: ItemKey, at: datetime | None) -> None:
        self.conn.execute(update(t.items).where(t.items.c.key == str(key)).values(next_poll_at=at))

    # -- the batched path (adapters/db/batch.py) --------------------------------------------

    def alert_states_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, AlertState]:
        return batch.alert_states_of(self.conn, keys)

    def pending_readings(
        self, keys: Sequence[ItemKey], states: Mapping[ItemKey, AlertState]
    ) -> dict[ItemKey, list[StoredReading]]:
        return batch.pending_readings(self.conn, keys, states)

    def items_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, Item]:
        return batch.items_of(self.conn, keys)

    def active_levels_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, TierLevels]:
        return batch.active_levels_of(self.conn, keys)

    def save_alert_states(self, saves: Sequence[StateSave], now: datetime) -> set[ItemKey]:
        return batch.save_alert_states(self.conn, saves, now)

    def add_events(self, events: Sequence[AlertEvent]) -> list[int | None]:
        return batch.add_events(self.conn, events)

    def set_next_polls(self, at: Mapping[ItemKey, datetime | None]) -> None:
        batch.set_next_polls(self.conn, at)

    def enqueue_many(
        self,
        batches: Sequence[tuple[int | None, Sequence[tuple[str, OutgoingMessage]]]],
        now: datetime,
    ) -> int:
        return SqlOutbox(self.conn.engine).enqueue_many(self.conn, batches, now)

    def store_calm(
        self, rules: Sequence[CalmRule], drop_factor: float | None, now: datetime
    ) -> set[ItemKey]:
        return calm.store_calm(self.conn, rules, drop_factor, now)

    def open_orders_of(self, keys: Sequence[ItemKey]) -> dict[ItemKey, list[PurchaseOrder]]:
        return batch.open_orders_of(self.conn, keys)

    def open_orders(self, key: ItemKey) -> list[PurchaseOrder]:
        return open_orders(self.conn, key)

    def take_order_ack(self, order_id: int) -> bool:
        return take_order_ack(self.conn, order_id)

    def recent_receipts_of(
        self, keys: Sequence[ItemKey], now: datetime, grace: timedelta
    ) -> dict[ItemKey, BookedIn]:
        return recent_receipts_of(self.conn, keys, now, grace)

    def commit(self) -> None:
        self.conn.commit()
        self.committed = True


class SqlStore:
    """See ``ports.Store``; the engine comes from ``adapters.db.engine.make_engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._claims: dict[int, OutboxEntry] = {}  # outbox rows claimed here, with their token

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database without blocking writers."""
        if self.engine.dialect.name != "sqlite":
            return
        raw = self.engine.raw_connection()
        try:
            # Outside any transaction (a checkpoint inside one finds its own lock held).
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()  # type: ignore[union-attr]
        finally:
            raw.close()

    def _read(self) -> Connection:
        """Return a connection for reading only: on SQLite it does not take the write lock."""
        return self.engine.connect().execution_options(**{READ_ONLY: True})

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self.engine.connect() as conn:
            conn.begin()
            tx = SqlTransaction(conn)
            try:
                yield tx
            finally:
                if not tx.committed:
                    conn.rollback()

    # -- items ------------------------------------------------------------------------------

    def sync_items(
        self, items: Sequence[Item], groups: Mapping[ItemKey, str], now: datetime
    ) -> None:
        keys = {str(i.key) for i in items}
        rows = [
            item_to_row(item)
            | {"poll_group": groups.get(item.key, "default"), "active": True, "updated_at": now}
            for item in items
        ]
        with self.engine.begin() as conn:
            if rows:
                # One statement for every item (executemany): building a statement per item
                # cost ~3 ms each, minutes at 100,000 items.
                stmt = _insert(conn, t.items)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["key"],
                    set_={k: stmt.excluded[k] for k in rows[0] if k != "key"},
                )
                conn.execute(stmt, rows)
            stored = {r.key for r in conn.execute(select(t.items.c.key))}
            gone = sorted(stored - keys)
            for start in range(0, len(gone), 500):
                conn.execute(
                    update(t.items)
                    .where(t.items.c.key.in_(gone[start : start + 500]))
                    .values(active=False, updated_at=now)
                )

    def items(self, group: str | None = None) -> list[Item]:
        query = select(t.items).where(t.items.c.active.is_(True))
        if group is not None:
            query = query.where(t.items.c.poll_group == group)
        with self._read() as conn:
            return [item_from_row(r) for r in conn.execute(query.order_by(t.items.c.key))]

    def item_groups(self) -> dict[ItemKey, str]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.items.c.key, t.items.c.poll_group).where(t.items.c.active.is_(True))
            )
            return {ItemKey.parse(r.key): r.poll_group for r in rows}

    def items_by_offer(self, offer_id: str) -> list[Item]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.items).where(t.items.c.offer_id == offer_id, t.items.c.active.is_(True))
            )
            return [item_from_row(r) for r in rows]

    def due_items(self, now: datetime) -> list[ItemKey]:
        with self._read() as conn:
            rows = conn.execute(
                select(t.items.c.key).where(
                    t.items.c.active.is_(True), t.items.c.next_poll_at <= now
                )
            )
            return [ItemKey.parse(r.key) for r in rows]

    def request_recheck(self, keys: Sequence[ItemKey] | None, at: datetime) -> int:
        stmt = update(t.items).where(t.items.c.active.is_(True)).values(next_poll_at=at)
        with self.engine.begin() as conn:
            if keys is None:
                return int(conn.execute(stmt).rowcount)
            # In chunks: one IN list of every key would pass SQLite's variable limit.
            names = sorted({str(k) for k in keys})
            return sum(
                int(conn.execute(stmt.where(t.items.c.key.in_(names[i : i + 500]))).rowcount)
                for i in range(0, len(names), 500)
            )

    def clear_due(self, keys: Sequence[ItemKey], now: datetime) -> None:
        names = [str(k) for k in keys]
        with self.engine.begin() as conn:
            for start in range(0, len(names), 500):
                conn.execute(
                    update(t.items)
                    .where(
                        t.items.c.key.in_(names[start : start + 500]), t.items.c.next_poll_at <= now
                    )
                    .values(next_poll_at=None)
                )

    # -- readings ---------------------------------------------------------------------------

    def add_readings(self, readings: Sequence[Reading], received_at: datetime) -> int:
        if not readings:
            return 0
        with self.engine.begin() as conn:
            # One executemany in one transaction, in the driver's own terms: SQLAlchemy's
            # per-row parameter processing costs three times the insert itself at 100k rows.
            stamp: Callable[[datetime], object]
            if conn.dialect.name == "sqlite":
                sql, stamp = _READINGS_INSERT.replace("%s", "?"), sqlite_time
            elif conn.dialect.name == "postgresql":
                sql, stamp = _READINGS_INSERT, aware_time
            else:
                conn.execute(
                    t.readings.insert(), [reading_to_row(r, received_at) for r in readings]
                )
                return len(readings)
            received = stamp(received_at)
            conn.exec_driver_sql(
                sql,
                [
                    (
                        str(r.key),
                        stamp(r.observed_at),
                        received,
                        r.source.value,
                        r.on_hand,
                        r.committed,
                        r.in_transit,
                        r.offer_status.value,
                        r.error,
                    )
                    for r in readings
                ],
            )
        return len(readings)

    def latest_reading_at(self, key: ItemKey) -> datetime | None:
        with self._read() as conn:
            value = conn.execute(
                select(func.max(t.readings.c.observed_at)).where(t.readings.c.item_key == str(key))
            ).scalar()
        if value is None:
            return None
        return t.UTCDateTime().process_result_value(value, self.engine.dialect)

    def keys_read_since(self, keys: Sequence[str], since: datetime) -> set[str]:
        """Return which of ``keys`` have a reading (good or failed) received at or after
        ``since``: the scheduler's check that a queued poll batch was done."""
        found: set[str] = set()
        r = t.readings
        with self._read() as conn:
            query = (
                select(r.c.item_key)
                .distinct()
                .where(batch.among(conn, r.c.item_key), r.c.received_at >= since)
            )
            for part in batch.chunks(keys):
                among = batch.among_value(conn, part)
                found.update(row.item_key for row in conn.execute(query, {"among": among}))
        return found

    def unevaluated_keys(self, since: datetime) -> list[ItemKey]:
        r, s = t.readings, t.alert_states
        query = (
            select(r.c.item_key)
            .distinct()
            .select_from(r.outerjoin(s, s.c.item_key == r.c.item_key))
            .where(
                r.c.received_at >= since,
                or_(s.c.last_reading_at.is_(None), r.c.observed_at > s.c.last_reading_at),
            )
        )
        with self._read() as conn:
            return sorted(ItemKey.parse(row.item_key) for row in conn.execute(query))

    def readings(self, key: ItemKey, limit: int = 100) -> list[StoredReading]:
        """Return an item's newest readings, newest first (dashboard, tests)."""
        with self._read() as conn:
            rows = conn.execute(
                select(t.readings)
                .where(t.readings.c.item_key == str(key))
                .order_by(t.readings.c.observed_at.desc(), t.readings.c.id.desc())
                .limit(limit)
            )
            return [StoredReading(r.id, reading_from_row(r), r.received_at) for r in rows]

    def latest_good_readings(self) -> dict[ItemKey, StoredReading]:
        """Return each item's newest successful reading (dashboard: on-hand stock)."""
        r = t.readings
        newest = select(func.max(r.c.id)).where(r.c.on_hand.is_not(None)).group_by(r.c.item_key)
        with self._read() as conn:
            rows = conn.execute(select(r).where(r.c.id.in_(newest)))
            return {
                ItemKey.parse(row.item_key): StoredReading(
                    row.id, reading_from_row(row), row.received_at
                )
                for row in rows
            }

    def latest_event_levels(self) -> dict[ItemKey, tuple[int, int, int, float]]:
        """Return the levels (T1, T2, T3, velocity) of each item's newest event that has them."""
        e = t.alert_events
        newest = select(func.max(e.c.id)).where(e.c.t1.is_not(None)).group_by(e.c.item_key)
        with self._read() as conn:
            rows = conn.execute(
                select(e.c.item_key, e.c.t1, e.c.t2, e.c.t3, e.c.velocity).where(e.c.id.in_(newest))
            )
            return {
                ItemKey.parse(row.item_key): (row.t1, row.t2, row.t3, row.velocity or 0.0)
                for row in rows
            }

    def apply_retention(self, now: datetime, raw_for: timedelta, keep_for: timedelta) -> int:
        r = t.readings
        raw_cutoff, keep_cutoff = now - raw_for, now - keep_for
        with self.engine.begin() as conn:
            dropped = conn.execute(delete(r).where(r.c.observed_at < keep_cutoff)).rowcount
            if conn.dialect.name == "postgresql":
                bucket: Any = func.date_trunc("hour", r.c.observed_at)
            else:
                bucket = func.substr(r.c.observed_at, 1, 13)  # 'YYYY-MM-DD HH'
            keep = (
                select(func.max(r.c.id))
                .where(r.c.observed_at < raw_cutoff)
                .group_by(r.c.item_key, bucket)
            )
            thinned = conn.execute(
                delete(r).where(r.c.observed_at < raw_cutoff, r.c.id.not_in(keep))
            ).rowcount
            # Applied push messages only matter for de-duplication, which 1688's ~3 retries
            # need for minutes, not months; those still to apply are never removed.
            p = t.push_messages
            conn.execute(delete(p).where(p.c.status != "received", p.c.received_at < keep_cutoff))
            compact_tier_counts(conn)  # the triggers' ±1 rows, folded into one per tier
        return int(dropped) + int(thinned)

    # -- poll runs --------------------------------------------------------------------------

    def start_poll_run(self, group: str, now: datetime) -> int:
        with self.engine.begin() as conn:
            row = conn.execute(
                t.poll_runs.insert()
                .values(group_name=group, started_at=now, items=0, failed=0, requests=0)
                .returning(t.poll_runs.c.id)
            ).one()
            return int(row.id)

    def finish_poll_run(
        self, run_id: int, now: datetime, items: int, failed: int, error: str | None = None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.poll_runs)
                .where(t.poll_runs.c.id == run_id)
                .values(finished_at=now, items=items, failed=failed, requests=items, error=error)
            )

    def last_poll_runs(self) -> dict[str, PollRun]:
        p = t.poll_runs
        newest = select(func.max(p.c.id)).group_by(p.c.group_name)
        with self._read() as conn:
            rows = conn.execute(select(p).where(p.c.id.in_(newest)))
            return {
                r.group_name: PollRun(
                    r.id, r.group_name, r.started_at, r.finished_at, r.items, r.failed, r.error
                )
                for r in rows
            }

    # -- push messages ----------------------------------------------------------------------

    def add_push_message(self, message: PushMessage) -> bool:
        return self.add_push_messages([message])[0]

    def add_push_messages(self, messages: Sequence[PushMessage]) -> list[bool]:
        if not messages:
            return []
        p = t.push_messages
        ids = list(dict.fromkeys(m.msg_id for m in messages))
        with self.engine.begin() as conn:
            stamp, sql = _driver_style(conn)
            known = {
                row.msg_id
                for start in range(0, len(ids), 500)
                for row in conn.execute(
                    select(p.c.msg_id).where(p.c.msg_id.in_(ids[start : start + 500]))
                )
            }
            out, new = [], {}
            for m in messages:
                fresh = m.msg_id not in known and m.msg_id not in new
                if fresh:
                    new[m.msg_id] = m
                out.append(fresh)
            if new:
                # executemany in the driver's terms; ON CONFLICT still guards a racing writer.
                conn.exec_driver_sql(
                    sql(_PUSH_INSERT),
                    [
                        (
                            m.msg_id,
                            m.topic,
                            None if m.born_at is None else stamp(m.born_at),
                            stamp(m.received_at),
                            json.dumps(dict(m.payload), ensure_ascii=False),
                            m.status,
                        )
                        for m in new.values()
                    ],
                )
        return out

    def unprocessed_push_messages(self, limit: int) -> list[PushMessage]:
        p = t.push_messages
        with self._read() as conn:
            rows = conn.execute(
                select(p)
                .where(p.c.status == "received")
                .order_by(p.c.gmt_born, p.c.received_at)
                .limit(limit)
            )
            return [
                PushMessage(r.msg_id, r.topic, r.gmt_born, r.received_at, r.payload, r.status)
                for r in rows
            ]

    def mark_push_messages(self, statuses: Mapping[str, str], now: datetime) -> None:
        p = t.push_messages
        by_status: dict[str, list[str]] = {}
        for msg_id, status in statuses.items():
            by_status.setdefault(status, []).append(msg_id)
        with self.engine.begin() as conn:
            for status, ids in by_status.items():
                for start in range(0, len(ids), 500):
                    conn.execute(
                        update(p)
                        .where(p.c.msg_id.in_(ids[start : start + 500]))
                        .values(status=status, processed_at=now)
                    )

    def push_messages(self) -> list[PushMessage]:
        """Return every stored push message (tests, diagnostics)."""
        p = t.push_messages
        with self._read() as conn:
            rows = conn.execute(select(p).order_by(p.c.received_at))
            return [
                PushMessage(r.msg_id, r.topic, r.gmt_born, r.received_at, r.payload, r.status)
                for r in rows
            ]

    # -- alerts, events, outbox -------------------------------------------------------------

    def alert_states(self) -> dict[ItemKey, AlertState]:
        s = t.alert_states
        with self._read() as conn:
            rows = conn.execute(
                select(s.c.item_key, s.c.state, s.c.version, s.c.last_reading_at, s.c.available)
            )
            return {
                ItemKey.parse(r.item_key): state_from_row(
                    r.state, r.version, r.last_reading_at, r.available
                )
                for r in rows
            }

    def events(
        self,
        item: ItemKey | None = None,
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AlertEvent]:
        e = t.alert_events
        query = select(e)
        if item is not None:
            query = query.where(e.c.item_key == str(item))
        if kinds:
            query = query.where(e.c.kind.in_(list(kinds)))
        if since is not None:
            query = query.where(e.c.at >= since)
        query = query.order_by(e.c.at.desc(), e.c.id.desc()).limit(limit)
        with self._read() as conn:
            return [
                AlertEvent(
                    idempotency_key=r.idempotency_key,
                    item_key=ItemKey.parse(r.item_key),
                    kind=r.kind,
                    tier=r.tier,
                    previous_tier=r.previous_tier,
                    at=r.at,
                    episode=r.episode,
                    available=r.available,
                    on_hand=r.on_hand,
                    levels=None if r.t1 is None else (r.t1, r.t2, r.t3, r.velocity or 0.0),
                    detail=r.detail,
                    actor=r.actor,
                    payload=r.payload,
                    id=r.id,
                )
                for r in conn.execute(query)
            ]

    def outbox_backlog(self) -> OutboxBacklog:
        d = t.deliveries
        with self._read() as conn:
            counts: dict[str, int] = {
                status: n
                for status, n in conn.execute(select(d.c.status, func.count()).group_by(d.c.status))
            }
            oldest = conn.execute(
                select(func.min(d.c.created_at)).where(d.c.status == "pending")
            ).scalar()
        if oldest is not None:
            oldest = t.UTCDateTime().process_result_value(oldest, self.engine.dialect)
        return OutboxBacklog(
            int(counts.get("pending", 0)),
            int(counts.get("sending", 0)),
            int(counts.get("failed", 0)),
            oldest,
        )

    def deliveries(self) -> list[dict[str, Any]]:
        """Return every outbox row as a dict (tests, ``stockwatch status``)."""
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.deliveries))]

    def claim_pending(self, now: datetime, limit: int) -> list[tuple[int, str, OutgoingMessage]]:
        """Claim due pending rows (the outbox's claim: SKIP LOCKED on PostgreSQL)."""
        entries = SqlOutbox(self.engine).claim_due(now, limit, 0)
        for entry in entries:  # mark_sent must match the claim, not just the status
            self._claims[entry.id] = entry
        return [(e.id, e.channel, e.message) for e in entries]

    def mark_sent(self, entry_id: int, now: datetime, answer: str) -> None:
        entry = self._claims.pop(entry_id, None)
        if entry is not None:  # a claim this store never made (or already recorded): not ours
            SqlOutbox(self.engine).mark_sent(entry, now, answer)

    def release_stale_claims(self, now: datetime, older_than: timedelta) -> int:
        return SqlOutbox(self.engine).release_stale_claims(now, older_than.total_seconds())
