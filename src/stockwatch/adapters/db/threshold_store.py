"""Versioned thresholds in SQL (``thresholds``): bulk writes, review queue, history per item.

Each recompute that changes an item's levels adds a version. At most one version per item is
``active`` and at most one is ``review``; everything older is ``superseded``. Works on SQLite
and PostgreSQL. The bulk write (``write_versions``) is PostgreSQL's binary COPY and one
executemany of plain tuples on SQLite; the basis goes in its compact form (codec.basis_columns).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Engine,
    String,
    any_,
    bindparam,
    select,
    update,
)

from stockwatch.adapters.db.batch import pg_array
from stockwatch.adapters.db.codec import basis_columns, basis_to_json, levels_from_row, sqlite_time
from stockwatch.adapters.db.tables import status_is, thresholds
from stockwatch.bulk.gcpause import paused_gc
from stockwatch.ports import (
    CurrentThresholds,
    LiveColumns,
    LiveRow,
    NewThreshold,
    StoredThreshold,
    ThresholdStatus,
    VersionBatch,
)

__all__ = ["SqlThresholdStore", "basis_to_json", "last_computed_at", "levels_from_row"]

_IN_BATCH = 500  # keys per IN (...) query: below SQLite's bound-parameter limit
_PG_BATCH = 50_000  # keys per array parameter on PostgreSQL
_SUPERSEDED = ThresholdStatus.SUPERSEDED.value
# The columns of the bulk write; a version whose basis needs the JSON form is inserted apart
# (learned lead times: a few items per recompute).
_FAST = "item_key, version, computed_at, status, t1, t2, t3, velocity, strategy, numbers, notes"
_FAST += ", review_reason"
_PG_TYPES = [
    "text",
    "int4",
    "timestamptz",
    "text",
    "int4",
    "int4",
    "int4",
    "float8",
    "text",
    "bytea",
    "text",
    "text",
]


def _stored(row: Any) -> StoredThreshold:
    return StoredThreshold(
        key=row.item_key,
        version=row.version,
        computed_at=row.computed_at,
        status=ThresholdStatus(row.status),
        levels=levels_from_row(row),
        review_reason=row.review_reason,
    )


def _batches(keys: Sequence[str], size: int = _IN_BATCH) -> Iterator[Sequence[str]]:
    for lo in range(0, len(keys), size):
        yield keys[lo : lo + size]


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _pg_keys(keys: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """``keys`` as one PostgreSQL ``text[]`` expression and its parameter: one array literal
    the server parses (psycopg adapts a list of 50,000 strings element by element, a third of
    the client's CPU in a first recompute)."""
    return "%(keys)s::text[]", {"keys": pg_array(keys)}


def _last_versions(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """The newest version number of each of ``keys`` that has one.

    A batch whose keys span a range of the primary key holding no version at all (a first
    recompute, new items) is answered by one probe of that range: looking up 50,000 absent keys
    one by one cost PostgreSQL ~1 s of CPU per million in a first recompute."""
    last: dict[str, int] = {}
    pg = _pg(conn)
    for batch in _batches(keys, _PG_BATCH):
        # min and max in the database: its collation orders the key column, not Python's.
        span = "item_key BETWEEN (SELECT min({v}) FROM {k}) AND (SELECT max({v}) FROM {k})"
        if pg:
            among, param = _pg_keys(batch)
            span = span.format(v="v", k=f"unnest({among}) AS k(v)")
            # One probe of the primary key per key (its newest version): an ``= ANY`` of an
            # array the planner cannot size was answered by a scan of the whole table.
            lookup = (
                "SELECT k.v, m.version FROM unnest(" + among + ") AS k(v) CROSS JOIN LATERAL"
                " (SELECT version FROM thresholds WHERE item_key = k.v"
                " ORDER BY version DESC LIMIT 1) AS m"
            )
            args: Any = param
        else:  # one JSON array parameter, not 500-key IN lists
            span = span.format(v="value", k="json_each(?)")
            lookup = (
                "SELECT t.item_key, max(t.version) FROM json_each(?) AS j"
                " JOIN thresholds AS t ON t.item_key = j.value GROUP BY t.item_key"
            )
            args = (json.dumps(list(batch)),)
        probe = f"SELECT EXISTS (SELECT 1 FROM thresholds WHERE {span})"
        if conn.exec_driver_sql(probe, args if pg else args * 2).scalar():
            last.update({k: v for k, v in conn.exec_driver_sql(lookup, args)})
    return last


def _retire(conn: Connection, keys: Sequence[str], old: ThresholdStatus) -> None:
    """Supersede the ``old``-status version of each key (at most one each)."""
    if not keys:
        return
    if _pg(conn):
        for batch in _batches(keys, _PG_BATCH):
            among, param = _pg_keys(batch)
            conn.exec_driver_sql(
                f"UPDATE thresholds SET status = '{_SUPERSEDED}'"
                f" WHERE item_key = ANY({among}) AND status = '{old.value}'",
                param,
            )
        return
    raw: Any = conn.connection.driver_connection
    raw.executemany(
        f"UPDATE thresholds SET status = '{_SUPERSEDED}'"
        f" WHERE item_key = ? AND status = '{old.value}'",
        [(k,) for k in keys],
    )


def _pg_copy(conn: Connection, rows: Iterator[tuple[Any, ...]]) -> None:
    """PostgreSQL's bulk path: binary COPY … FROM STDIN in the caller's transaction."""
    raw: Any = conn.connection.driver_connection
    sql = f"COPY thresholds ({_FAST}) FROM STDIN (FORMAT BINARY)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(_PG_TYPES)
        for row in rows:
            copy.write_row(row)


def _live_columns(raw: Any, pg: bool, status: str, cols: str, into: LiveColumns) -> None:
    """Every version of ``status``, read as one row of joined columns: a driver builds a million
    7-column rows one value at a time (~1 s of this process's CPU on either database), while
    splitting a few long strings is done in C. In key order, walking the status's partial
    index (about the cost of a scan in heap order, which a first recompute's separately
    inserted rows and every later version put out of key order): bulk.recompute then matches
    the rows to its keys by list comparisons instead of a million-entry dict. Every column is
    joined in the one pass of one aggregate, so they stay aligned whatever the order. On
    PostgreSQL the caller's transaction is told to walk the index (``SET LOCAL``), not to sort
    a million rows. A key or strategy holding a newline is read row by row."""
    among = f"FROM thresholds AS t WHERE t.status = '{status}'"
    if pg:
        numbers, texts = "string_agg(t.{}::text, ',')", "string_agg(t.{}, E'\\n')"
        any_newline = "coalesce(bool_or(strpos(t.item_key || t.strategy, E'\\n') > 0), false)"
    else:
        numbers, texts = "group_concat(t.{}, ',')", "group_concat(t.{}, char(10))"
        any_newline = "coalesce(max(instr(t.item_key || t.strategy, char(10)) > 0), 0)"
    nums = ", ".join(numbers.format(c) for c in ("version", "t1", "t2", "t3"))
    sql = (
        f"SELECT count(*), {texts.format('item_key')}, {nums}, {texts.format('strategy')},"
        f" {any_newline} FROM (SELECT t.item_key, t.version, t.t1, t.t2, t.t3, t.strategy {among}"
        " ORDER BY t.item_key) AS t"
    )
    cur = raw.cursor()
    try:
        if pg:
            cur.execute("SET LOCAL enable_sort = off")
            cur.execute("SET LOCAL enable_bitmapscan = off")
        cur.execute(sql)
        n, keys, version, t1, t2, t3, strategy, newline = cur.fetchone()
        if not n:
            return
        if newline:
            cur.execute(f"SELECT {cols} {among}")
            into.add_rows(cur.fetchall())
            return
    finally:
        cur.close()
    import numpy as np  # here: `stockwatch run` and the CLI start without numpy

    into.key.extend(keys.split("\n"))
    into.status.extend([status] * n)
    for column, joined in zip(
        (into.version, into.t1, into.t2, into.t3), (version, t1, t2, t3), strict=True
    ):
        column.extend(np.fromstring(joined, np.int64, sep=",").tolist())
    into.strategy.extend(strategy.split("\n"))
    if not len(into.key) == len(into.strategy) == len(into.t3):
        raise RuntimeError("thresholds: joined live columns of unequal length")


def _write(conn: Connection, batch: VersionBatch, computed_at: datetime) -> None:
    keys = batch.keys
    if len(set(keys)) != len(keys):
        raise ValueError("one new version per item and save")
    last = _last_versions(conn, keys)
    _retire(conn, batch.retire_review, ThresholdStatus.REVIEW)
    _retire(conn, batch.retire_active, ThresholdStatus.ACTIVE)
    versions = [last.get(k, 0) + 1 for k in keys]
    apart = [i for i, whole in enumerate(batch.whole) if whole is not None]
    pg = _pg(conn)
    when: Any = computed_at if pg else sqlite_time(computed_at)
    n = len(keys)
    rows = zip(
        keys,
        versions,
        [when] * n,
        batch.status,
        batch.t1,
        batch.t2,
        batch.t3,
        batch.velocity,
        batch.strategy,
        batch.numbers,
        batch.notes,
        batch.review_reason,
        strict=True,
    )
    if apart:
        skip = set(apart)
        rows = (r for i, r in enumerate(rows) if i not in skip)  # type: ignore[assignment]
    if pg:
        _pg_copy(conn, rows)
    else:
        raw: Any = conn.connection.driver_connection
        _sqlite_insert(raw, rows)
    if apart:
        conn.execute(
            thresholds.insert(), [_apart_row(batch, i, versions[i], computed_at) for i in apart]
        )


def _sqlite_insert(raw: sqlite3.Connection, rows: Iterator[tuple[Any, ...]]) -> None:
    """SQLite's bulk path: INSERTs of many rows each (``VALUES (…), (…), …``), as many as its
    bound-parameter limit allows up to 2,000: a quarter less time than ``executemany``, which
    steps the statement once per row (a million rows: ~4.5 s against ~6 s)."""
    width = len(_PG_TYPES)
    per = max(1, min(2_000, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    one = "(" + ", ".join("?" * width) + ")"
    head = f"INSERT INTO thresholds ({_FAST}) VALUES "
    full = head + ", ".join([one] * per)
    while part := list(itertools.islice(rows, per)):
        sql = full if len(part) == per else head + ", ".join([one] * len(part))
        raw.execute(sql, list(itertools.chain.from_iterable(part)))


def _apart_row(batch: VersionBatch, i: int, version: int, computed_at: datetime) -> dict[str, Any]:
    whole = batch.whole[i]
    return {
        "item_key": batch.keys[i],
        "version": version,
        "computed_at": computed_at,
        "status": batch.status[i],
        "t1": batch.t1[i],
        "t2": batch.t2[i],
        "t3": batch.t3[i],
        "velocity": batch.velocity[i],
        "strategy": batch.strategy[i],
        "basis": basis_to_json(whole) if whole is not None else None,
        "numbers": batch.numbers[i] if whole is None else None,
        "notes": batch.notes[i] if whole is None else None,
        "review_reason": batch.review_reason[i],
    }


def batch_of(rows: Sequence[NewThreshold]) -> VersionBatch:
    """The per-item path's new versions as a VersionBatch (the same bulk write)."""
    out = VersionBatch()
    with paused_gc():  # a chunk builds ~10 objects per row and forms no cycles
        for r in rows:
            lv = r.levels
            cols = basis_columns(lv)
            out.keys.append(r.key)
            out.status.append(r.status.value)
            out.t1.append(lv.t1)
            out.t2.append(lv.t2)
            out.t3.append(lv.t3)
            out.velocity.append(lv.velocity)
            out.strategy.append(lv.basis.strategy)
            out.numbers.append(cols["numbers"])
            out.notes.append(cols["notes"])
            out.whole.append(lv if cols["basis"] is not None else None)
            out.review_reason.append(r.review_reason)
    # Retiring a status the key does not have changes nothing: no need to look first.
    out.retire_review = list(out.keys)
    out.retire_active = [r.key for r in rows if r.status is ThresholdStatus.ACTIVE]
    return out


class SqlThresholdStore:
    """ThresholdStore on an SQLAlchemy Engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def current(self, keys: Sequence[str]) -> dict[str, CurrentThresholds]:
        found: dict[str, dict[str, Any]] = defaultdict(dict)
        t = thresholds
        with self.engine.connect() as conn:
            pg = _pg(conn)
            for key, version in _last_versions(conn, list(dict.fromkeys(keys))).items():
                found[key]["last"] = version
            # PostgreSQL: one array parameter per 50,000 keys (= ANY) instead of IN per 500.
            for batch in _batches(list(found), _PG_BATCH if pg else _IN_BATCH):
                among = (
                    t.c.item_key == any_(bindparam("keys", list(batch), type_=ARRAY(String)))
                    if pg
                    else t.c.item_key.in_(batch)
                )
                for status in (ThresholdStatus.ACTIVE, ThresholdStatus.REVIEW):
                    for row in conn.execute(select(t).where(among, status_is(status.value))):
                        found[row.item_key][row.status] = _stored(row)
        return {
            key: CurrentThresholds(
                active=parts.get(ThresholdStatus.ACTIVE.value),
                review=parts.get(ThresholdStatus.REVIEW.value),
                last_version=parts.get("last", 0),
            )
            for key, parts in found.items()
        }

    def save(self, rows: Sequence[NewThreshold], computed_at: datetime) -> None:
        if rows:
            self.write_versions(batch_of(rows), computed_at)

    def write_versions(self, batch: VersionBatch, computed_at: datetime) -> None:
        if not len(batch):
            return
        with self.engine.begin() as conn:
            _write(conn, batch, computed_at)

    def live_levels(self, keys: Sequence[str]) -> list[LiveRow] | LiveColumns:
        """The active and pending versions of ``keys``; for many keys (a whole catalogue) every
        live version, read by scanning the two partial indexes once (the caller matches keys),
        not by looking up a million keys."""
        cols = "t.item_key, t.status, t.version, t.t1, t.t2, t.t3, t.strategy"
        out: list[LiveRow] = []
        with self.engine.connect() as conn:
            pg = _pg(conn)
            raw: Any = conn.connection.driver_connection  # fetchall of plain tuples
            if len(keys) > _PG_BATCH:  # as columns (bulk.recompute takes them as they are)
                live = LiveColumns()
                for status in (ThresholdStatus.ACTIVE, ThresholdStatus.REVIEW):
                    _live_columns(raw, pg, status.value, cols, live)
                return live
            for batch in _batches(keys, _PG_BATCH):
                for status in (ThresholdStatus.ACTIVE, ThresholdStatus.REVIEW):
                    # The status as a literal: the planner picks its partial index.
                    if pg:
                        among, param = _pg_keys(batch)
                        with raw.cursor() as cur:
                            cur.execute(
                                f"SELECT {cols} FROM thresholds AS t"
                                f" WHERE t.item_key = ANY({among})"
                                f" AND t.status = '{status.value}'",
                                param,
                            )
                            out.extend(cur.fetchall())
                    else:
                        cur = raw.execute(
                            f"SELECT {cols} FROM json_each(?) AS j JOIN thresholds AS t"
                            f" ON t.item_key = j.value AND t.status = '{status.value}'",
                            (json.dumps(list(batch)),),
                        )
                        out.extend(cur.fetchall())
        return out

    def has_versions(self, keys: Sequence[str]) -> bool:
        with self.engine.connect() as conn:
            return bool(_last_versions(conn, keys))

    def versions(self, key: str, limit: int = 10) -> list[StoredThreshold]:
        t = thresholds
        q = select(t).where(t.c.item_key == key).order_by(t.c.version.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_stored(row) for row in conn.execute(q)]

    def in_review(self, limit: int = 1000) -> list[StoredThreshold]:
        t = thresholds
        q = (
            select(t)
            .where(status_is(ThresholdStatus.REVIEW.value))
            .order_by(t.c.item_key)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_stored(row) for row in conn.execute(q)]

    def approve(self, key: str, version: int) -> bool:
        t = thresholds
        with self.engine.begin() as conn:
            pending = conn.execute(
                select(t.c.version).where(
                    t.c.item_key == key,
                    t.c.version == version,
                    status_is(ThresholdStatus.REVIEW.value),
                )
            ).first()
            if pending is None:
                return False
            conn.execute(
                update(t)
                .where(t.c.item_key == key, status_is(ThresholdStatus.ACTIVE.value))
                .values(status=ThresholdStatus.SUPERSEDED.value)
            )
            conn.execute(
                update(t)
                .where(t.c.item_key == key, t.c.version == version)
                .values(status=ThresholdStatus.ACTIVE.value)
            )
            return True

    def reject(self, key: str, version: int) -> bool:
        t = thresholds
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t)
                .where(
                    t.c.item_key == key,
                    t.c.version == version,
                    status_is(ThresholdStatus.REVIEW.value),
                )
                .values(status=ThresholdStatus.SUPERSEDED.value)
            )
            return done.rowcount == 1

    def retire_active(self, key: str) -> bool:
        t = thresholds
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t)
                .where(t.c.item_key == key, status_is(ThresholdStatus.ACTIVE.value))
                .values(status=ThresholdStatus.SUPERSEDED.value)
            )
            return done.rowcount >= 1


def last_computed_at(engine: Engine) -> datetime | None:
    """Return when the last recompute wrote a version (for the schedule), if ever."""
    q = select(thresholds.c.computed_at).order_by(thresholds.c.computed_at.desc()).limit(1)
    with engine.connect() as conn:
        value = conn.execute(q).scalar()
    return value if isinstance(value, datetime) else None
