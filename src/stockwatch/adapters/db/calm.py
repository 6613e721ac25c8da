"""The batched evaluator's shortcut: the database classifies and stores calm readings itself.

In a poll cycle about 95 % of the items are calm — phase OK, their one new reading above T1
without a sharp drop — and the state machine does nothing for them but remember the reading
(``core.alerting.ok_step``). Loading those readings and states into Python to learn that cost
seconds per 70,000 SKUs, so ``store_calm`` does it in one statement per batch:

* the candidates: each key's unevaluated readings (newer than its state's last reading), its
  state's plain columns, its open purchase orders and its newest active stored levels, joined
  in SQL; the rule is ``core.alerting.stays_ok`` with its numbers passed in (``calm_bounds``
  per key from the evaluator's fallback levels, ``drop_factor``);
* the save touches the plain columns only: for a state in phase OK with no failed read since
  its last good one (``failed_reads = 0``) and an active offer, ``ok_step`` changes nothing but
  the last reading, the last position and the version (a hypothesis property in
  tests/unit/test_alerting.py), and those are the columns ``version``, ``last_reading_at`` and
  ``available``, which ``codec.state_from_row`` lays over the JSON. Patching the JSON in SQL
  cost half of the statement on PostgreSQL (parse, merge, print: 2-3 s a cycle). The version
  check is per item, like every other save: a worker that evaluated the item first wins, and
  only that item is left out. An item without a state gets the default state's JSON;
* the items' early re-reads are cleared for the keys saved (``ok_step`` leaves nothing pending).

Everything else — a breach, a second pending reading, a failed read now or before, an inactive
offer now or before, a purchase order, no levels — is left untouched for the state machine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from stockwatch.adapters.db.batch import pg_array
from stockwatch.adapters.db.codec import aware_time, sqlite_time, state_to_json
from stockwatch.core.model import AlertState, ItemKey
from stockwatch.core.purchasing import OPEN_STATUSES
from stockwatch.ports import CalmRule

_OPEN = ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES))  # enum values, not input

# A state that was never saved: the defaults (the columns carry the reading and version 1).
_NEW_STATE = json.dumps(state_to_json(AlertState()))

# The saved state is calm and ok_step would change only the columns (see above). Its offer
# status is read from the JSON text as stockwatch writes it: json.dumps (and PostgreSQL's jsonb
# output) put a space after the colon, SQLite's json functions (older versions of this shortcut)
# none. A state written any other way only misses the shortcut; the pattern cannot occur inside
# another value (a quote in a JSON string is escaped).
_STATE_CALM = """(s.item_key IS NULL OR (s.phase = 'ok' AND s.tier = 'OK' AND s.failed_reads = 0
       AND (s.state LIKE '%"offer_status": "active"%'
            OR s.state LIKE '%"offer_status":"active"%')))"""

# Which stored levels win over the rule's: the newest active version, as
# codec.levels_from_row reads it (T3 ≤ 0 is disabled: every stock figure is calm).
_LEVELS_CALM = """CASE
    WHEN th.t1 IS NOT NULL THEN th.t3 <= 0 OR (c_position > th.t1 AND c_shelf > th.t3)
    ELSE g.known = 1 AND (g.pos IS NULL OR (c_position > g.pos AND c_shelf > g.shelf))
  END"""
# A sharp drop sends a notice: position ≤ last position × factor, the last one above 0.
_NO_DROP = """(:factor IS NULL OR s.available IS NULL OR s.available <= 0
       OR c_position > s.available * :factor)"""

_POSITION = "(r.on_hand - r.committed + r.in_transit)"
_SHELF = "(r.on_hand - r.committed)"

# The rules are a JSON array, read once per key (MATERIALIZED): as a plain subquery SQLite
# flattened it and parsed each rule again for every reference to its key (a fifth of the
# statement's time).
_SQLITE_STORE = f"""
WITH g AS MATERIALIZED (
    SELECT value->>0 AS k, value->>1 AS known, value->>2 AS pos, value->>3 AS shelf
    FROM json_each(:rules)
)
INSERT INTO alert_states (item_key, phase, tier, state, version, updated_at, last_reading_at,
                          tier_rank, available, failed_reads)
SELECT c.k, 'ok', 'OK', :new_state, c.version + 1, :now, c.observed_at, 0, c.position, 0
FROM (
    SELECT g.k AS k, coalesce(s.version, 0) AS version, r.observed_at AS observed_at,
           {_POSITION} AS position
    FROM g
    LEFT JOIN alert_states AS s ON s.item_key = g.k
    JOIN readings AS r ON r.item_key = g.k AND r.observed_at > coalesce(s.last_reading_at, '')
    LEFT JOIN thresholds AS th ON th.item_key = g.k AND th.status = 'active'
         AND th.version = (SELECT max(version) FROM thresholds AS v
                           WHERE v.item_key = g.k AND v.status = 'active')
    WHERE {_STATE_CALM}
      AND r.on_hand IS NOT NULL AND r.offer_status = 'active' AND r.in_transit >= 0
      AND NOT EXISTS (SELECT 1 FROM readings AS later WHERE later.item_key = g.k
                      AND later.observed_at > coalesce(s.last_reading_at, '')
                      AND later.id <> r.id)
      AND NOT EXISTS (SELECT 1 FROM purchase_orders AS po
                      WHERE po.item_key = g.k AND po.status IN ({_OPEN}))
      AND {_LEVELS_CALM.replace("c_position", _POSITION).replace("c_shelf", _SHELF)}
      AND {_NO_DROP.replace("c_position", _POSITION)}
) AS c
WHERE true
ON CONFLICT (item_key) DO UPDATE
SET version = excluded.version, updated_at = excluded.updated_at,
    last_reading_at = excluded.last_reading_at, available = excluded.available
WHERE alert_states.version = excluded.version - 1
RETURNING item_key
"""

_SQLITE_CLEAR_POLLS = """
UPDATE items SET next_poll_at = NULL
WHERE next_poll_at IS NOT NULL AND "key" IN (SELECT value FROM json_each(?))
"""

# Driven from the keys: one index range of readings per item (for "item_key = ANY(keys)" the
# planner scanned the whole readings table once per batch), and one statement does it all.
_PG_STORE = f"""
WITH g AS (
    SELECT g.k, g.known::int AS known, g.pos, g.shelf
    FROM unnest(%(k)s::text[], %(known)s::bool[], %(pos)s::int[], %(shelf)s::int[])
         AS g(k, known, pos, shelf)
), c AS (
    SELECT g.k, s.version, r.observed_at, r.position
    FROM g
    LEFT JOIN alert_states AS s ON s.item_key = g.k
    JOIN LATERAL (
        SELECT r.observed_at, r.on_hand, r.in_transit, r.offer_status,
               {_POSITION} AS position, {_SHELF} AS shelf, count(*) OVER () AS pending
        FROM readings AS r
        WHERE r.item_key = g.k
          AND r.observed_at > coalesce(s.last_reading_at, '-infinity'::timestamptz)
    ) AS r ON r.pending = 1
    LEFT JOIN LATERAL (
        SELECT t1, t3 FROM thresholds AS v WHERE v.item_key = g.k AND v.status = 'active'
        ORDER BY v.version DESC LIMIT 1
    ) AS th ON true
    WHERE {_STATE_CALM.replace("s.state LIKE", "s.state::text LIKE").replace("%", "%%")}
      AND r.on_hand IS NOT NULL AND r.offer_status = 'active' AND r.in_transit >= 0
      AND NOT EXISTS (SELECT 1 FROM purchase_orders AS po
                      WHERE po.item_key = g.k AND po.status IN ({_OPEN}))
      AND {_LEVELS_CALM.replace("c_position", "r.position").replace("c_shelf", "r.shelf")}
      AND {_NO_DROP.replace(":factor", "%(factor)s::float8").replace("c_position", "r.position")}
), saved AS (
    UPDATE alert_states AS a
    SET version = c.version + 1, last_reading_at = c.observed_at, available = c.position,
        updated_at = %(now)s
    FROM c
    WHERE c.version IS NOT NULL AND a.item_key = c.k AND a.version = c.version
    RETURNING a.item_key
), created AS (
    INSERT INTO alert_states (item_key, phase, tier, state, version, updated_at,
                              last_reading_at, tier_rank, available, failed_reads)
    SELECT c.k, 'ok', 'OK', %(new_state)s::json, 1, %(now)s, c.observed_at, 0, c.position, 0
    FROM c WHERE c.version IS NULL
    ON CONFLICT (item_key) DO NOTHING
    RETURNING item_key
), won AS (
    SELECT item_key FROM saved UNION ALL SELECT item_key FROM created
), polls AS (
    UPDATE items SET next_poll_at = NULL FROM won
    WHERE items.key = won.item_key AND items.next_poll_at IS NOT NULL
)
SELECT item_key FROM won
"""


def store_calm(
    conn: Connection, rules: Sequence[CalmRule], factor: float | None, now: datetime
) -> set[ItemKey]:
    """``Transaction.store_calm``: one statement for the rules given (a batch)."""
    unique = {str(r.key): r for r in rules}  # a key twice would make the upsert touch it twice
    if not unique:
        return set()
    if conn.dialect.name == "postgresql":
        won = _returned(
            conn,
            _PG_STORE,
            {
                "k": pg_array(unique),
                "known": pg_array(r.known for r in unique.values()),
                "pos": pg_array(None if r.bounds is None else r.bounds[0] for r in unique.values()),
                "shelf": pg_array(
                    None if r.bounds is None else r.bounds[1] for r in unique.values()
                ),
                "factor": factor,
                "new_state": _NEW_STATE,
                "now": aware_time(now),
            },
        )
    else:
        spec = [[k, int(r.known), *(r.bounds or (None, None))] for k, r in unique.items()]
        won = _returned(
            conn,
            _SQLITE_STORE,
            {
                "rules": json.dumps(spec),
                "factor": factor,
                "new_state": _NEW_STATE,
                "now": sqlite_time(now),
            },
        )
        if won:
            conn.exec_driver_sql(_SQLITE_CLEAR_POLLS, (json.dumps(won),))
    return {unique[k].key for k in won}


def _returned(conn: Connection, sql: str, params: dict[str, Any]) -> list[str]:
    return list(conn.exec_driver_sql(sql, params).scalars().all())
