"""The batched evaluation path: a few statements per batch of items instead of seven per item.

A poll cycle of 70,000 SKUs used to cost 70,000 transactions (one per item). These functions let
the evaluator load and save a whole batch in one transaction: every read is one ``IN`` query per
chunk, and the alert states are saved with one version-checked statement per chunk
(``UPDATE … FROM (VALUES …) WHERE version = expected RETURNING``), so an item another worker
evaluated first is left out — per item, not per batch — and only its events are dropped.
Both SQLite (≥ 3.35 for RETURNING) and PostgreSQL run the same statements.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    Connection,
    Table,
    any_,
    bindparam,
    cast,
    column,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import String

from stockwatch.adapters.db import tables as t
from stockwatch.adapters.db.codec import (
    aware_time,
    item_from_row,
    levels_from_row,
    reading_from_row,
    sqlite_time,
    state_from_row,
    state_to_json,
)
from stockwatch.adapters.db.purchase_orders import order_from_row
from stockwatch.adapters.db.tables import purchase_orders
from stockwatch.core.model import AlertState, Item, ItemKey, TierLevels
from stockwatch.core.purchasing import OPEN_STATUSES, PurchaseOrder
from stockwatch.ports import AlertEvent, StateSave, StoredReading

# 500 keys × ≤ 16 columns stays far below SQLite's 32,766 bound parameters.
CHUNK = 500

T = TypeVar("T")


def chunks(seq: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def pg_array(values: Iterable[str | int | bool | None]) -> str:
    """A PostgreSQL array literal (``'{"a","b",NULL}'``) for a ``%s::text[]`` parameter.

    psycopg adapts a list element by element in Python (0.3 ms for 500 keys, several lists
    per batch); one string is sent as is and the server parses it.
    """
    given = list(values)
    texts = [v for v in given if type(v) is str]
    if len(texts) == len(given) and not any(c in "".join(texts) for c in '"\\'):
        return '{"' + '","'.join(texts) + '"}' if texts else "{}"  # the usual keys: no escapes
    parts = []
    for v in given:
        if v is None:
            parts.append("NULL")
        elif isinstance(v, bool):
            parts.append("t" if v else "f")
        elif isinstance(v, int):
            parts.append(str(v))
        else:
            parts.append('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def among(conn: Connection, col: Any) -> Any:
    """``col`` is one of the values of the parameter ``among`` (``among_value``), one
    parameter whatever their number, so the statement text stays the same and SQLAlchemy
    compiles it once (``_cached``: one statement serves every batch): ``col = ANY(:array)`` on
    PostgreSQL, ``col IN (SELECT value FROM json_each(:json))`` on SQLite (an expanding ``IN``
    list was compiled again for every chunk: about 1 ms a statement, 10 statements a batch).
    """
    if conn.dialect.name == "postgresql":
        return col == any_(cast(bindparam("among", type_=String), ARRAY(String)))
    keys = select(column("value", String)).select_from(
        func.json_each(bindparam("among", type_=String))
    )
    return col.in_(keys.scalar_subquery())


def among_value(conn: Connection, values: Sequence[str]) -> str:
    """The ``among`` parameter for ``values``: an array literal or a JSON list."""
    return pg_array(values) if conn.dialect.name == "postgresql" else json.dumps(list(values))


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _cached(conn: Connection, name: str, build: Callable[[], Any]) -> Any:
    """The statement ``name`` for this dialect, built once: building a select and computing
    its cache key cost more than running it for a batch (SQLAlchemy memoizes the key on the
    statement object)."""
    key = (conn.dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


def alert_states_of(conn: Connection, keys: Sequence[ItemKey]) -> dict[ItemKey, AlertState]:
    s = t.alert_states
    out: dict[ItemKey, AlertState] = {}
    stmt = _cached(
        conn,
        "alert_states_of",
        lambda: select(
            s.c.item_key, s.c.state, s.c.version, s.c.last_reading_at, s.c.available
        ).where(among(conn, s.c.item_key)),
    )
    # The rows name the keys asked for: map their text back instead of parsing each again.
    by_text = {str(k): k for k in keys}
    for part in chunks(list(by_text)):
        rows = conn.execute(stmt, {"among": among_value(conn, part)}).all()
        for row in rows:
            state = state_from_row(row.state, row.version, row.last_reading_at, row.available)
            out[by_text[row.item_key]] = state
    return out


def pending_readings(
    conn: Connection, keys: Sequence[ItemKey], states: Mapping[ItemKey, AlertState]
) -> dict[ItemKey, list[StoredReading]]:
    """Readings newer than each item's state (the join keeps old history out of the answer)."""
    out: dict[ItemKey, list[StoredReading]] = {}
    by_text = {str(k): k for k in keys}
    for part in chunks(list(by_text)):
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(_PG_PENDING, {"keys": pg_array(part)}).all()
        else:
            rows = conn.exec_driver_sql(_SQLITE_PENDING, (json.dumps(list(part)),)).all()
        for row in rows:
            key = by_text[row.item_key]
            stored = _stored_reading(conn, row)
            # The state this transaction loaded decides, even if the row moved on since.
            last = states.get(key, AlertState()).last_reading_at
            if last is not None and stored.reading.observed_at <= last:
                continue
            out.setdefault(key, []).append(stored)
    return out


_READING_COLUMNS = (
    "r.id, r.item_key, r.observed_at, r.received_at, r.source, r.on_hand, r.committed,"
    " r.in_transit, r.offer_status, r.error"
)
# Driven from the keys, one index range per item: "readings.item_key = ANY(500 keys)" joined to
# the states made PostgreSQL scan the whole readings table once per batch (10-24 s a cycle of
# 70,000 SKUs), and an OR in the time condition kept SQLite from using the time in the index.
_PG_PENDING = f"""
SELECT {_READING_COLUMNS}
FROM unnest(%(keys)s::text[]) AS k(key)
LEFT JOIN alert_states AS s ON s.item_key = k.key
JOIN readings AS r ON r.item_key = k.key
     AND r.observed_at > coalesce(s.last_reading_at, '-infinity'::timestamptz)
ORDER BY r.item_key, r.observed_at, r.id
"""
_SQLITE_PENDING = f"""
SELECT {_READING_COLUMNS}
FROM json_each(?) AS k
LEFT JOIN alert_states AS s ON s.item_key = k.value
JOIN readings AS r ON r.item_key = k.value AND r.observed_at > coalesce(s.last_reading_at, '')
ORDER BY r.item_key, r.observed_at, r.id
"""


def _stored_reading(conn: Connection, row: Any) -> StoredReading:
    """A raw readings row as StoredReading, its times decoded as the table's type does."""
    dialect = conn.dialect
    received_at = _UTC_TIME.process_result_value(row.received_at, dialect)
    assert received_at is not None  # NOT NULL
    observed_at = _UTC_TIME.process_result_value(row.observed_at, dialect)
    return StoredReading(row.id, reading_from_row(row, observed_at), received_at)


_UTC_TIME = t.UTCDateTime()


def items_of(conn: Connection, keys: Sequence[ItemKey]) -> dict[ItemKey, Item]:
    out: dict[ItemKey, Item] = {}
    stmt = _cached(conn, "items_of", lambda: select(t.items).where(among(conn, t.items.c.key)))
    by_text = {str(k): k for k in keys}
    for part in chunks(list(by_text)):
        for row in conn.execute(stmt, {"among": among_value(conn, part)}).all():
            out[by_text[row.key]] = item_from_row(row)
    return out


def active_levels_of(conn: Connection, keys: Sequence[ItemKey]) -> dict[ItemKey, TierLevels]:
    th = t.thresholds
    newest: dict[str, tuple[int, Any]] = {}
    stmt = _cached(
        conn,
        "active_levels_of",
        lambda: select(th).where(among(conn, th.c.item_key), t.status_is("active")),
    )
    for part in chunks([str(k) for k in keys]):
        rows = conn.execute(stmt, {"among": among_value(conn, part)}).all()
        for row in rows:
            seen = newest.get(row.item_key)
            if seen is None or row.version > seen[0]:
                newest[row.item_key] = (row.version, row)
    return {ItemKey.parse(k): levels_from_row(row) for k, (_, row) in newest.items()}


def state_columns(state: AlertState, now: datetime) -> dict[str, Any]:
    """The alert_states columns of ``state``: the per-item and the batched save write these."""
    return {
        "phase": state.phase.value,
        "tier": state.tier.name,
        "state": state_to_json(state),
        "version": state.version,
        "updated_at": now,
        "last_reading_at": state.last_reading_at,
        # Plain copies for the dashboard's SQL (sorting and filtering without the JSON).
        "tier_rank": int(state.tier),
        "available": state.last_available,
        "failed_reads": state.failed_reads,
    }


def open_orders_of(conn: Connection, keys: Sequence[ItemKey]) -> dict[ItemKey, list[PurchaseOrder]]:
    """Open purchase orders per item, oldest first (``purchase_orders.open_orders`` in bulk)."""
    po = purchase_orders
    out: dict[ItemKey, list[PurchaseOrder]] = {}
    stmt = _cached(
        conn,
        "open_orders_of",
        lambda: (
            select(po)
            .where(
                among(conn, po.c.item_key),
                po.c.status.in_(sorted(s.value for s in OPEN_STATUSES)),
            )
            .order_by(po.c.item_key, po.c.ordered_at, po.c.id)
        ),
    )
    for part in chunks([str(k) for k in keys]):
        rows = conn.execute(stmt, {"among": among_value(conn, part)}).all()
        for row in rows:
            order = order_from_row(row._mapping)
            out.setdefault(order.key, []).append(order)
    return out


def save_alert_states(conn: Connection, saves: Sequence[StateSave], now: datetime) -> set[ItemKey]:
    """Insert the new states and update the known ones where the version is unchanged.

    One statement each for the whole batch, the rows as one JSON parameter (``add_events``).
    """
    won: set[str] = set()
    pg = conn.dialect.name == "postgresql"
    fresh = [_state_row(conn, x) for x in saves if x.expected_version == 0]
    known = [_state_row(conn, x) for x in saves if x.expected_version != 0]
    for sql, rows in (
        (_PG_INSERT_STATES if pg else _SQLITE_INSERT_STATES, fresh),
        (_PG_UPDATE_STATES if pg else _SQLITE_UPDATE_STATES, known),
    ):
        if not rows:
            continue
        text = json.dumps(rows)
        if pg:
            result = conn.exec_driver_sql(sql, {"rows": text, "now": aware_time(now)})
        else:
            result = conn.exec_driver_sql(sql, (sqlite_time(now), text))
        won.update(row[0] for row in result)
    by_text = {str(x.key): x.key for x in saves}
    return {by_text[k] for k in won}


def _state_row(conn: Connection, save: StateSave) -> list[Any]:
    """A save as a JSON row: key, expected version, then the columns of ``state_columns``."""
    state = save.state
    last = state.last_reading_at
    return [
        str(save.key),
        save.expected_version,
        state.phase.value,
        state.tier.name,
        json.dumps(state_to_json(state)),
        state.version,
        None if last is None else event_time(conn, last),
        int(state.tier),
        state.last_available,
        state.failed_reads,
    ]


# A concurrent first evaluation of the same item makes ON CONFLICT skip it (not RETURNed).
_SQLITE_INSERT_STATES = """
INSERT INTO alert_states (item_key, phase, tier, state, version, updated_at, last_reading_at,
                          tier_rank, available, failed_reads)
SELECT value->>0, value->>2, value->>3, value->>4, value->>5, ?, value->>6, value->>7,
       value->>8, value->>9
FROM json_each(?) WHERE true
ON CONFLICT (item_key) DO NOTHING
RETURNING item_key
"""
_SQLITE_UPDATE_STATES = """
UPDATE alert_states
SET phase = g.phase, tier = g.tier, state = g.state, version = g.version,
    last_reading_at = g.last_reading_at, tier_rank = g.tier_rank, available = g.available,
    failed_reads = g.failed_reads, updated_at = ?
FROM (SELECT value->>0 AS k, value->>1 AS expected, value->>2 AS phase, value->>3 AS tier,
             value->>4 AS state, value->>5 AS version, value->>6 AS last_reading_at,
             value->>7 AS tier_rank, value->>8 AS available, value->>9 AS failed_reads
      FROM json_each(?)) AS g
WHERE alert_states.item_key = g.k AND alert_states.version = g.expected
RETURNING item_key
"""
_PG_INSERT_STATES = """
INSERT INTO alert_states (item_key, phase, tier, state, version, updated_at, last_reading_at,
                          tier_rank, available, failed_reads)
SELECT v->>0, v->>2, v->>3, (v->>4)::json, (v->>5)::int, %(now)s, (v->>6)::timestamptz,
       (v->>7)::int, (v->>8)::int, (v->>9)::int
FROM jsonb_array_elements(%(rows)s::jsonb) AS g(v)
ON CONFLICT (item_key) DO NOTHING
RETURNING item_key
"""
_PG_UPDATE_STATES = """
UPDATE alert_states AS s
SET phase = g.v->>2, tier = g.v->>3, state = (g.v->>4)::json, version = (g.v->>5)::int,
    last_reading_at = (g.v->>6)::timestamptz, tier_rank = (g.v->>7)::int,
    available = (g.v->>8)::int, failed_reads = (g.v->>9)::int, updated_at = %(now)s
FROM jsonb_array_elements(%(rows)s::jsonb) AS g(v)
WHERE s.item_key = g.v->>0 AND s.version = (g.v->>1)::int
RETURNING s.item_key
"""


def add_events(conn: Connection, events: Sequence[AlertEvent]) -> list[int | None]:
    """Insert the events in one statement; the id of each, None where its key was there.

    The rows travel as one JSON parameter (``rows_param``) under a fixed statement text:
    SQLAlchemy's multi-row VALUES made a new statement of thousands of placeholders for each
    batch, which SQLAlchemy and psycopg compiled and parsed anew every time (about a third of
    the batched evaluation's client time on PostgreSQL).
    """
    if not events:
        return []
    rows = []
    times: dict[datetime, str] = {}  # a batch's events share a few times: format each once
    for event in events:
        t1, t2, t3, velocity = event.levels or (None, None, None, None)
        at = times.get(event.at)
        if at is None:
            at = times[event.at] = event_time(conn, event.at)
        if velocity is not None and not math.isfinite(velocity):
            return _add_events_compiled(conn, events)  # JSON has no NaN or infinity
        rows.append(
            [
                event.idempotency_key,
                str(event.item_key),
                event.kind,
                event.tier,
                event.previous_tier,
                at,
                event.episode,
                event.available,
                event.on_hand,
                t1,
                t2,
                t3,
                velocity,
                event.detail,
                event.actor,
                json.dumps(dict(event.payload)),  # as the JSON column type writes it
            ]
        )
    sql = _PG_ADD_EVENTS if conn.dialect.name == "postgresql" else _SQLITE_ADD_EVENTS
    # RETURNING skips the duplicates and is not in row order: match the ids back by key.
    ids = {key: int(i) for i, key in conn.exec_driver_sql(sql, rows_param(conn, rows))}
    return [ids.get(event.idempotency_key) for event in events]


def rows_param(conn: Connection, rows: list[list[Any]]) -> Any:
    """The rows as the one JSON parameter of a ``_PG_…``/``_SQLITE_…`` statement."""
    text = json.dumps(rows)
    return {"rows": text} if conn.dialect.name == "postgresql" else (text,)


def event_time(conn: Connection, value: datetime) -> str:
    """A timestamp as JSON text: what the column stores on SQLite, ISO with offset for PG."""
    if conn.dialect.name == "postgresql":
        return aware_time(value).isoformat()
    return sqlite_time(value)


_EVENT_COLUMNS = (
    "idempotency_key, item_key, kind, tier, previous_tier, at, episode, available, on_hand,"
    " t1, t2, t3, velocity, detail, actor, payload"
)
# jsonb: each row's fields by position in O(1); the payload is JSON text inside, kept verbatim.
_PG_ADD_EVENTS = f"""
INSERT INTO alert_events ({_EVENT_COLUMNS})
SELECT v->>0, v->>1, v->>2, v->>3, v->>4, (v->>5)::timestamptz, (v->>6)::int, (v->>7)::int,
       (v->>8)::int, (v->>9)::int, (v->>10)::int, (v->>11)::int, (v->>12)::float8, v->>13,
       v->>14, (v->>15)::json
FROM jsonb_array_elements(%(rows)s::jsonb) WITH ORDINALITY AS g(v, n)
ORDER BY g.n
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, idempotency_key
"""
_SQLITE_ADD_EVENTS = f"""
INSERT INTO alert_events ({_EVENT_COLUMNS})
SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6,
       value->>7, value->>8, value->>9, value->>10, value->>11, value->>12, value->>13,
       value->>14, value->>15
FROM json_each(?) WHERE true ORDER BY key
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, idempotency_key
"""


def _add_events_compiled(conn: Connection, events: Sequence[AlertEvent]) -> list[int | None]:
    """``add_events`` through SQLAlchemy's multi-row VALUES (any float, compiled per batch)."""
    e = t.alert_events
    rows = []
    for event in events:
        t1, t2, t3, velocity = event.levels or (None, None, None, None)
        rows.append(
            {
                "idempotency_key": event.idempotency_key,
                "item_key": str(event.item_key),
                "kind": event.kind,
                "tier": event.tier,
                "previous_tier": event.previous_tier,
                "at": event.at,
                "episode": event.episode,
                "available": event.available,
                "on_hand": event.on_hand,
                "t1": t1,
                "t2": t2,
                "t3": t3,
                "velocity": velocity,
                "detail": event.detail,
                "actor": event.actor,
                "payload": dict(event.payload),
            }
        )
    stmt = (
        _insert(conn, e)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(e.c.id, e.c.idempotency_key)
    )
    ids = {row.idempotency_key: int(row.id) for row in conn.execute(stmt, rows)}
    return [ids.get(event.idempotency_key) for event in events]


def set_next_polls(conn: Connection, at: Mapping[ItemKey, datetime | None]) -> None:
    items = t.items
    clear = [str(k) for k, when in at.items() if when is None]
    stmt = _cached(
        conn,
        "clear_next_polls",
        lambda: (
            update(items)
            .where(among(conn, items.c.key), items.c.next_poll_at.is_not(None))
            .values(next_poll_at=None)
        ),
    )
    for part in chunks(clear):
        conn.execute(stmt, {"among": among_value(conn, part)})
    timed = [(str(k), when) for k, when in at.items() if when is not None]
    if timed and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE items SET next_poll_at = g.at FROM unnest(%(k)s::text[],"
            " %(at)s::timestamptz[]) AS g(k, at) WHERE items.key = g.k",
            {"k": [k for k, _ in timed], "at": [w for _, w in timed]},
        )
        timed = []
    for rows in chunks(timed):
        given = json.dumps([[k, sqlite_time(when)] for k, when in rows])
        conn.exec_driver_sql(
            "UPDATE items SET next_poll_at = g.at FROM (SELECT value->>0 AS k, value->>1 AS at"
            " FROM json_each(?)) AS g WHERE items.key = g.k",
            (given,),
        )
