"""Versioned thresholds in SQL (``thresholds``): bulk writes, review queue, history per item.

Each recompute that changes an item's levels adds a version. At most one version per item is
``active`` and at most one is ``review``; everything older is ``superseded``. Works on SQLite
and PostgreSQL with SQLAlchemy Core only.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Engine,
    String,
    and_,
    any_,
    bindparam,
    func,
    select,
    update,
)

from stockwatch.adapters.db.tables import thresholds
from stockwatch.bulk.gcpause import paused_gc
from stockwatch.core.model import Basis, Step, TierLevels
from stockwatch.ports import (
    CurrentThresholds,
    NewThreshold,
    StoredThreshold,
    ThresholdStatus,
)

_IN_BATCH = 500  # keys per IN (...) query: below SQLite's bound-parameter limit


def basis_to_json(levels: TierLevels) -> dict[str, Any]:
    """Return a JSON-ready basis; non-finite numbers become null (JSON has no NaN)."""
    b = levels.basis
    return {
        "strategy": b.strategy,
        "disabled": levels.disabled,
        "inputs": [[name, _finite(value)] for name, value in b.inputs],
        "steps": [[s.label, s.formula, _finite(s.value)] for s in b.steps],
        "notes": list(b.notes),
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def levels_from_row(row: Any) -> TierLevels:
    data = row.basis or {}
    basis = Basis(
        strategy=data.get("strategy", row.strategy),
        inputs=tuple((str(n), _nan(v)) for n, v in data.get("inputs", [])),
        steps=tuple(Step(str(a), str(b), _nan(c)) for a, b, c in data.get("steps", [])),
        notes=tuple(str(n) for n in data.get("notes", [])),
    )
    if data.get("disabled"):
        return TierLevels.off(basis)
    return TierLevels(row.t1, row.t2, row.t3, velocity=row.velocity, basis=basis)


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


_COLUMNS = (
    "item_key",
    "version",
    "computed_at",
    "status",
    "t1",
    "t2",
    "t3",
    "velocity",
    "strategy",
    "basis",
    "review_reason",
)


def _last_versions(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    t = thresholds
    last: dict[str, int] = {}
    if conn.dialect.name == "postgresql":
        # One array parameter per 50,000 keys instead of an IN list per 500.
        for batch in _batches(keys, 50_000):
            rows = conn.exec_driver_sql(
                "SELECT item_key, max(version) FROM thresholds"
                " WHERE item_key = ANY(%(keys)s::text[]) GROUP BY item_key",
                {"keys": list(batch)},
            )
            last.update({k: v for k, v in rows})
        return last
    for batch in _batches(keys):
        q = select(t.c.item_key, func.max(t.c.version)).where(t.c.item_key.in_(batch))
        last.update({k: v for k, v in conn.execute(q.group_by(t.c.item_key))})
    return last


def _pg_retire(conn: Connection, retired: list[dict[str, str]]) -> None:
    conn.exec_driver_sql(
        "UPDATE thresholds AS t SET status = %(new)s"
        " FROM unnest(%(k)s::text[], %(old)s::text[]) AS r(k, old)"
        " WHERE t.item_key = r.k AND t.status = r.old",
        {
            "new": ThresholdStatus.SUPERSEDED.value,
            "k": [r["k"] for r in retired],
            "old": [r["old"] for r in retired],
        },
    )


def _pg_copy(conn: Connection, params: list[dict[str, Any]]) -> None:
    """PostgreSQL's bulk path: COPY … FROM STDIN in the caller's transaction (psycopg)."""
    raw: Any = conn.connection.driver_connection
    dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    sql = f"COPY thresholds ({', '.join(_COLUMNS)}) FROM STDIN"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for p in params:
            copy.write_row(
                (
                    p["item_key"],
                    p["version"],
                    p["computed_at"],
                    p["status"],
                    p["t1"],
                    p["t2"],
                    p["t3"],
                    p["velocity"],
                    p["strategy"],
                    dumps(p["basis"]),
                    p["review_reason"],
                )
            )


class SqlThresholdStore:
    """ThresholdStore on an SQLAlchemy Engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def current(self, keys: Sequence[str]) -> dict[str, CurrentThresholds]:
        found: dict[str, dict[str, Any]] = defaultdict(dict)
        t = thresholds
        with self.engine.connect() as conn:
            pg = conn.dialect.name == "postgresql"
            # PostgreSQL: one array parameter per 50,000 keys (= ANY) instead of IN per 500.
            for batch in _batches(list(dict.fromkeys(keys)), 50_000 if pg else _IN_BATCH):
                among = (
                    t.c.item_key == any_(bindparam("keys", list(batch), type_=ARRAY(String)))
                    if pg
                    else t.c.item_key.in_(batch)
                )
                last = select(t.c.item_key, func.max(t.c.version)).where(among)
                for key, version in conn.execute(last.group_by(t.c.item_key)):
                    found[key]["last"] = version
                live = select(t).where(
                    among,
                    t.c.status.in_([ThresholdStatus.ACTIVE.value, ThresholdStatus.REVIEW.value]),
                )
                for row in conn.execute(live):
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
        if not rows:
            return
        t = thresholds
        keys = [r.key for r in rows]
        if len(set(keys)) != len(keys):
            raise ValueError("one new version per item and save")
        with self.engine.begin() as conn:
            last = _last_versions(conn, keys)
            retire = update(t).where(
                and_(t.c.item_key == bindparam("k"), t.c.status == bindparam("old"))
            )
            retired = [
                {"k": r.key, "old": ThresholdStatus.REVIEW.value} for r in rows if r.key in last
            ] + [
                {"k": r.key, "old": ThresholdStatus.ACTIVE.value}
                for r in rows
                if r.key in last and r.status is ThresholdStatus.ACTIVE
            ]
            if retired and conn.dialect.name == "postgresql":
                _pg_retire(conn, retired)
            elif retired:
                conn.execute(retire.values(status=ThresholdStatus.SUPERSEDED.value), retired)
            with paused_gc():  # a chunk builds ~10 objects per row and forms no cycles
                params = [
                    {
                        "item_key": r.key,
                        "version": last.get(r.key, 0) + 1,
                        "computed_at": computed_at,
                        "status": r.status.value,
                        "t1": r.levels.t1,
                        "t2": r.levels.t2,
                        "t3": r.levels.t3,
                        "velocity": r.levels.velocity,
                        "strategy": r.levels.basis.strategy,
                        "basis": basis_to_json(r.levels),
                        "review_reason": r.review_reason,
                    }
                    for r in rows
                ]
            if conn.dialect.name == "postgresql":
                _pg_copy(conn, params)
            else:
                conn.execute(t.insert(), params)

    def versions(self, key: str, limit: int = 10) -> list[StoredThreshold]:
        t = thresholds
        q = select(t).where(t.c.item_key == key).order_by(t.c.version.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_stored(row) for row in conn.execute(q)]

    def in_review(self, limit: int = 1000) -> list[StoredThreshold]:
        t = thresholds
        q = (
            select(t)
            .where(t.c.status == ThresholdStatus.REVIEW.value)
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
                    t.c.status == ThresholdStatus.REVIEW.value,
                )
            ).first()
            if pending is None:
                return False
            conn.execute(
                update(t)
                .where(t.c.item_key == key, t.c.status == ThresholdStatus.ACTIVE.value)
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
                    t.c.status == ThresholdStatus.REVIEW.value,
                )
                .values(status=ThresholdStatus.SUPERSEDED.value)
            )
            return done.rowcount == 1

    def retire_active(self, key: str) -> bool:
        t = thresholds
        with self.engine.begin() as conn:
            done = conn.execute(
                update(t)
                .where(t.c.item_key == key, t.c.status == ThresholdStatus.ACTIVE.value)
                .values(status=ThresholdStatus.SUPERSEDED.value)
            )
            return done.rowcount >= 1


def last_computed_at(engine: Engine) -> datetime | None:
    """Return when the last recompute wrote a version (for the schedule), if ever."""
    q = select(thresholds.c.computed_at).order_by(thresholds.c.computed_at.desc()).limit(1)
    with engine.connect() as conn:
        value = conn.execute(q).scalar()
    return value if isinstance(value, datetime) else None
