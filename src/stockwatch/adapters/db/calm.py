"""The batched evaluator's shortcut: store a calm reading without decoding the alert state.

In a poll cycle nearly every item is calm — phase OK, its reading above T1 — and the state
machine does nothing for it but remember the reading (``core.alerting.ok_step``). Decoding,
evaluating and re-encoding 70,000 JSON states to learn that costs seconds, so:

* ``calm_candidates`` reads, in one query per chunk, each item's pending readings beside the few
  plain state columns that say whether it can be calm (phase, tier, version, last available);
  an item with more than one pending reading, a failed read, an inactive offer, a state in any
  other phase or an open purchase order goes to the full path.
* the service decides with ``core.alerting.stays_ok``;
* ``save_calm`` writes ``ok_step`` for the whole chunk in one statement: the JSON state is
  patched in SQL (``json_set`` on SQLite, ``jsonb ||`` on PostgreSQL) under the same per-item
  version check as every other save, so a worker that evaluated the item first wins and this
  one drops only that item.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from stockwatch.adapters.db import tables as t
from stockwatch.adapters.db.batch import among, chunks
from stockwatch.adapters.db.codec import aware_time, sqlite_time, state_to_json
from stockwatch.core.model import AlertState, ItemKey, Phase, Tier, TierLevels
from stockwatch.core.purchasing import OPEN_STATUSES
from stockwatch.ports import CalmCandidate

_OK = (Phase.OK.value, Tier.OK.name)


def calm_candidates(
    conn: Connection, keys: Sequence[ItemKey]
) -> tuple[list[CalmCandidate], list[ItemKey]]:
    po = t.purchase_orders
    by_text = {str(k): k for k in keys}
    calm: list[CalmCandidate] = []
    others: list[ItemKey] = []
    for part in chunks(list(by_text)):
        ordered = {
            row[0]
            for row in conn.execute(
                select(po.c.item_key)
                .distinct()
                .where(
                    among(conn, po.c.item_key, part),
                    po.c.status.in_([x.value for x in OPEN_STATUSES]),
                )
            )
        }
        rows = _pending(conn, part)
        count: dict[str, int] = {}
        for row in rows:
            count[row[0]] = count.get(row[0], 0) + 1
        for (
            text,
            observed,
            on_hand,
            committed,
            transit,
            status,
            version,
            phase,
            tier,
            avail,
        ) in rows:
            if (
                count[text] == 1
                and on_hand is not None
                and status == "active"
                and (version is None or (phase, tier) == _OK)
                and text not in ordered
            ):
                calm.append(
                    CalmCandidate(
                        by_text[text],
                        version or 0,
                        avail,
                        _utc(observed),
                        on_hand,
                        committed,
                        transit,
                    )
                )
            elif count[text] > 0:
                count[text] = 0  # listed once, whatever its number of readings
                others.append(by_text[text])
    return calm, others


def _utc(value: Any) -> datetime:
    """The reading's time as UTCDateTime returns it (aware, UTC), from either driver."""
    if isinstance(value, str):  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" in UTC
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


# The same "pending" as batch.pending_readings (newer than the state's last reading), as plain
# tuples: SQLAlchemy's per-row processing cost more than the query at 70,000 rows.
_SQLITE_PENDING = """
SELECT r.item_key, r.observed_at, r.on_hand, r.committed, r.in_transit, r.offer_status,
       s.version, s.phase, s.tier, s.available
FROM readings AS r LEFT JOIN alert_states AS s ON s.item_key = r.item_key
WHERE r.item_key IN (SELECT value FROM json_each(?))
  AND (s.last_reading_at IS NULL OR r.observed_at > s.last_reading_at)
"""
# On PostgreSQL driven from the keys, one index range per item: for "item_key = ANY(500
# keys)" the planner scanned the whole readings table once per batch.
_PG_PENDING = """
SELECT k.key, r.observed_at, r.on_hand, r.committed, r.in_transit, r.offer_status,
       s.version, s.phase, s.tier, s.available
FROM unnest(%(keys)s::text[]) AS k(key)
LEFT JOIN alert_states AS s ON s.item_key = k.key
JOIN LATERAL (
    SELECT observed_at, on_hand, committed, in_transit, offer_status FROM readings
    WHERE readings.item_key = k.key
      AND readings.observed_at > COALESCE(s.last_reading_at, '-infinity'::timestamptz)
) AS r ON true
"""


def _pending(conn: Connection, keys: Sequence[str]) -> Sequence[Any]:
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(_PG_PENDING, {"keys": list(keys)}).all()
    return conn.exec_driver_sql(_SQLITE_PENDING, (json.dumps(list(keys)),)).all()


def tier_levels_of(conn: Connection, keys: Sequence[ItemKey]) -> dict[ItemKey, TierLevels]:
    th = t.thresholds
    newest: dict[str, tuple[int, TierLevels]] = {}
    for part in chunks([str(k) for k in keys]):
        rows = conn.execute(
            select(th.c.item_key, th.c.version, th.c.t1, th.c.t2, th.c.t3, th.c.velocity).where(
                among(conn, th.c.item_key, part), t.status_is("active")
            )
        )
        for row in rows:
            seen = newest.get(row.item_key)
            if seen is None or row.version > seen[0]:
                # Same rule as codec.levels_from_row: T3 ≤ 0 is a disabled item.
                levels = (
                    TierLevels.off()
                    if row.t3 <= 0
                    else TierLevels(row.t1, row.t2, row.t3, float(row.velocity))
                )
                newest[row.item_key] = (row.version, levels)
    return {ItemKey.parse(k): levels for k, (_, levels) in newest.items()}


def save_calm(conn: Connection, calm: Sequence[CalmCandidate], now: datetime) -> set[ItemKey]:
    won: set[str] = set()
    for part in chunks(calm):
        fresh = [c for c in part if c.version == 0]
        known = [c for c in part if c.version != 0]
        if conn.dialect.name == "postgresql":
            won |= _pg_insert(conn, fresh, now) if fresh else set()
            won |= _pg_update(conn, known, now) if known else set()
        else:
            won |= _sqlite_insert(conn, fresh, now) if fresh else set()
            won |= _sqlite_update(conn, known, now) if known else set()
    by_text = {str(c.key): c.key for c in calm}
    return {by_text[k] for k in won}


def _first_state(c: CalmCandidate) -> str:
    """``ok_step`` of the empty state, as the JSON the full path would have saved."""
    state = AlertState(last_reading_at=c.observed_at, last_available=c.position, version=1)
    return json.dumps(state_to_json(state))


# What ok_step changes in a saved state, beside the plain columns.
_SQLITE_PATCH = (
    "json_set(state, '$.phase', 'ok', '$.tier', 'OK', '$.since', NULL,"
    " '$.breach_readings', 0, '$.failed_reads', 0, '$.first_failed_at', NULL,"
    " '$.stale_notified', json('false'), '$.offer_status', 'active',"
    " '$.last_reading_at', g.iso, '$.last_available', g.available, '$.version', g.v + 1)"
)
_PG_PATCH = (
    "(s.state::jsonb || jsonb_build_object('phase', 'ok', 'tier', 'OK', 'since', NULL::text,"
    " 'breach_readings', 0, 'failed_reads', 0, 'first_failed_at', NULL::text,"
    " 'stale_notified', false, 'offer_status', 'active', 'last_reading_at', g.iso,"
    " 'last_available', g.available, 'version', g.v + 1))::json"
)

_SQLITE_INSERT = """
INSERT INTO alert_states (item_key, phase, tier, state, version, updated_at, last_reading_at,
                          tier_rank, available, failed_reads)
SELECT value->>0, 'ok', 'OK', value->>1, 1, ?, value->>2, 0, value->>3, 0 FROM json_each(?)
WHERE true
ON CONFLICT (item_key) DO NOTHING
RETURNING item_key
"""

_SQLITE_UPDATE = f"""
UPDATE alert_states
SET phase = 'ok', tier = 'OK', version = g.v + 1, last_reading_at = g.last,
    available = g.available, failed_reads = 0, updated_at = ?, state = {_SQLITE_PATCH}
FROM (SELECT value->>0 AS k, value->>1 AS v, value->>2 AS last, value->>3 AS iso,
             value->>4 AS available FROM json_each(?)) AS g
WHERE alert_states.item_key = g.k AND alert_states.version = g.v
RETURNING item_key
"""

_PG_INSERT = """
INSERT INTO alert_states (item_key, phase, tier, state, version, updated_at, last_reading_at,
                          tier_rank, available, failed_reads)
SELECT g.k, 'ok', 'OK', g.state::json, 1, %(now)s, g.last, 0, g.available, 0
FROM unnest(%(k)s::text[], %(state)s::text[], %(last)s::timestamptz[], %(available)s::int[])
     AS g(k, state, last, available)
ON CONFLICT (item_key) DO NOTHING
RETURNING item_key
"""

_PG_UPDATE = f"""
UPDATE alert_states AS s
SET phase = 'ok', tier = 'OK', version = g.v + 1, last_reading_at = g.last,
    available = g.available, failed_reads = 0, updated_at = %(now)s, state = {_PG_PATCH}
FROM unnest(%(k)s::text[], %(v)s::int[], %(last)s::timestamptz[], %(iso)s::text[],
            %(available)s::int[]) AS g(k, v, last, iso, available)
WHERE s.item_key = g.k AND s.version = g.v
RETURNING s.item_key
"""


def _returned(conn: Connection, sql: str, params: Any) -> set[str]:
    return {row[0] for row in conn.exec_driver_sql(sql, params)}


def _sqlite_insert(conn: Connection, fresh: Sequence[CalmCandidate], now: datetime) -> set[str]:
    given = [[str(c.key), _first_state(c), sqlite_time(c.observed_at), c.position] for c in fresh]
    return _returned(conn, _SQLITE_INSERT, (sqlite_time(now), json.dumps(given)))


def _sqlite_update(conn: Connection, known: Sequence[CalmCandidate], now: datetime) -> set[str]:
    given = [
        [
            str(c.key),
            c.version,
            sqlite_time(c.observed_at),
            c.observed_at.isoformat(),
            c.position,
        ]
        for c in known
    ]
    return _returned(conn, _SQLITE_UPDATE, (sqlite_time(now), json.dumps(given)))


def _pg_insert(conn: Connection, fresh: Sequence[CalmCandidate], now: datetime) -> set[str]:
    params = {
        "now": aware_time(now),
        "k": [str(c.key) for c in fresh],
        "state": [_first_state(c) for c in fresh],
        "last": [c.observed_at for c in fresh],
        "available": [c.position for c in fresh],
    }
    return _returned(conn, _PG_INSERT, params)


def _pg_update(conn: Connection, known: Sequence[CalmCandidate], now: datetime) -> set[str]:
    params = {
        "now": aware_time(now),
        "k": [str(c.key) for c in known],
        "v": [c.version for c in known],
        "last": [c.observed_at for c in known],
        "iso": [c.observed_at.isoformat() for c in known],
        "available": [c.position for c in known],
    }
    return _returned(conn, _PG_UPDATE, params)
