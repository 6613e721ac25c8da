"""Recompute and persist thresholds for 1M items: the database's bulk path, changed items only.

``python -m benchmarks.recompute_persist [--n 1000000 --changed 0.05 --peer-n 100000]``

Levels are made in memory (the numpy kernel is measured by ``benchmarks.recompute_thresholds``);
this measures what the issue asks about: ``service.recompute`` deciding which items changed and
``SqlThresholdStore.save`` writing them. Run 1 writes every item (first recompute); run 2
recomputes all items of which ``--changed`` have new levels, so only those are written. The
peer is the row-by-row ``executemany`` INSERT (today's path on PostgreSQL, SQLite's path) on
``--peer-n`` items in the same run, rate compared. Targets for run 1 (1M items written):
PostgreSQL ≤ 5 s (COPY), SQLite ≤ 10 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from benchmarks.poll_cycle import pg_schema, sqlite_engine
from stockwatch.adapters.db import tables as t
from stockwatch.adapters.db.threshold_store import SqlThresholdStore, basis_to_json
from stockwatch.core.model import Basis, TierLevels
from stockwatch.ports import ComputedLevels
from stockwatch.service.recompute import recompute

AS_OF = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def levels(i: int, bump: int = 0) -> TierLevels:
    d = 1.0 + (i % 97) / 10
    basis = Basis("reorder_point", (("d", d), ("L", 7.0)), (), ())
    t3 = 5 + i % 50 + bump
    return TierLevels(t3 * 3, t3 * 2, t3, d, basis)


def computer(n: int, changed: float, run: int):  # type: ignore[no-untyped-def]
    every = int(1 / changed) if changed > 0 else 0

    def compute(keys: Sequence[str], as_of: date) -> list[ComputedLevels]:
        out = []
        for key in keys:
            i = int(key[4:])
            bump = 1 if run > 1 and every and i % every == 0 else 0
            out.append(ComputedLevels(key, levels(i, bump)))
        return out

    return compute


def measure(name: str, engine: Engine, n: int, changed: float) -> list[float]:
    keys = [f"SKU-{i:07d}" for i in range(n)]
    store = SqlThresholdStore(engine)
    times = []
    for run in (1, 2):
        start = time.perf_counter()
        report = recompute(keys, AS_OF, computer(n, changed, run), store, NOW, chunk=200_000)
        took = time.perf_counter() - start
        times.append(took)
        print(
            f"{name}: run {run}: {n:,} items recomputed, {report.written:,} written "
            f"({report.unchanged:,} unchanged) in {took:.2f} s"
        )
    return times


def peer(name: str, engine: Engine, n: int) -> float:
    rows = [
        {
            "item_key": f"PEER-{i:07d}",
            "version": 1,
            "computed_at": NOW,
            "status": "active",
            "t1": lv.t1,
            "t2": lv.t2,
            "t3": lv.t3,
            "velocity": lv.velocity,
            "strategy": lv.basis.strategy,
            "basis": basis_to_json(lv),
            "review_reason": None,
        }
        for i in range(n)
        for lv in (levels(i),)
    ]
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(t.thresholds.insert(), rows)
    took = time.perf_counter() - start
    print(f"{name}: peer executemany INSERT of {n:,} rows: {took:.2f} s ({n / took:,.0f} rows/s)")
    return n / took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--peer-n", type=int, default=100_000)
    args = parser.parse_args()
    ok = True
    targets = {"SQLite": 10.0, "PostgreSQL": 5.0}
    with tempfile.TemporaryDirectory() as tmp:
        engines = [("SQLite", sqlite_engine(Path(tmp) / "t.sqlite3"))]
        with pg_schema() as pg:
            if pg is not None:
                engines.append(("PostgreSQL", pg))
            for name, engine in engines:
                first, second = measure(name, engine, args.n, args.changed)
                rate = peer(name, engine, args.peer_n)
                print(
                    f"{name}: run 1 writes {args.n / first:,.0f} rows/s, "
                    f"{args.n / first / rate:.1f}× the executemany peer"
                )
                good = first <= targets[name]
                ok &= good
                print(
                    f"{'PASS' if good else 'FAIL'} {name}: recompute and persist "
                    f"{args.n:,} items in {first:.2f} s (target ≤ {targets[name]:g} s)"
                )
                good = second < first
                ok &= good
                print(
                    f"{'PASS' if good else 'FAIL'} {name}: a recompute with "
                    f"{args.changed:.0%} changed writes only those "
                    f"({second:.2f} s vs {first:.2f} s)"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
