"""Reading ingest: bulk insert (one transaction per poll) vs one row per transaction.

``python -m benchmarks.ingest_readings [--rows 100000] [--naive-rows 5000]``

The bulk path is ``SqlStore.add_readings`` (one executemany in one transaction), the way a poll
cycle stores its readings. The peer is the naive loop: one INSERT and one COMMIT per reading.
The naive loop runs on fewer rows (its rate does not depend on the row count, and 100,000
PostgreSQL commits would take minutes); rows/s are compared. Target: bulk ≥ 20× naive.
PostgreSQL (127.0.0.1:5432, database ``test``) is measured in a throwaway schema when reachable.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from stockwatch.adapters.db import migrate
from stockwatch.adapters.db import tables as t
from stockwatch.adapters.db.codec import reading_to_row
from stockwatch.adapters.db.engine import make_engine
from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import ItemKey, Reading, ReadingSource

PG_URL = os.environ.get("STOCKWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def readings(count: int, offset: int = 0) -> list[Reading]:
    """Return ``count`` readings spread over 5,000 SKUs, like one big poll cycle or several."""
    return [
        Reading(
            ItemKey(f"SKU-{(offset + i) % 5000:05d}"),
            T0 + timedelta(seconds=offset + i),
            ReadingSource.POLL,
            (offset + i) % 997,
            committed=i % 7,
        )
        for i in range(count)
    ]


def bulk(store: SqlStore, rows: list[Reading]) -> float:
    start = time.perf_counter()
    store.add_readings(rows, T0)
    return time.perf_counter() - start


def naive(engine: Engine, rows: list[Reading]) -> float:
    start = time.perf_counter()
    for reading in rows:
        with engine.begin() as conn:
            conn.execute(t.readings.insert().values(**reading_to_row(reading, T0)))
    return time.perf_counter() - start


def count_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select count(*) from readings")).scalar() or 0)


def measure(name: str, engine: Engine, n_bulk: int, n_naive: int) -> tuple[float, float]:
    migrate.upgrade(engine)
    store = SqlStore(engine)
    bulk(store, readings(1000, offset=10_000_000))  # warm-up: connections, statement cache
    naive(engine, readings(100, offset=20_000_000))
    before = count_rows(engine)
    bulk_s = bulk(store, readings(n_bulk))
    naive_s = naive(engine, readings(n_naive, offset=n_bulk))
    assert count_rows(engine) - before == n_bulk + n_naive, "rows went missing"
    bulk_rate, naive_rate = n_bulk / bulk_s, n_naive / naive_s
    print(
        f"{name:<10} bulk {n_bulk:>7,} rows in {bulk_s:6.2f} s = {bulk_rate:>9,.0f} rows/s | "
        f"naive {n_naive:>6,} rows in {naive_s:6.2f} s = {naive_rate:>7,.0f} rows/s | "
        f"ratio {bulk_rate / naive_rate:5.1f}×",
        flush=True,
    )
    ok = bulk_rate / naive_rate >= 20
    print(f"{'PASS' if ok else 'MISS'}  {name} bulk ≥ 20× naive: {bulk_rate / naive_rate:.1f}×")
    return bulk_rate, naive_rate


def with_pg(run: Callable[[Engine], None]) -> bool:
    try:
        admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: report and skip, the SQLite figure still stands
        print(f"postgresql skipped: {type(exc).__name__}: {exc}")
        return False
    engine = make_engine(PG_URL, schema=schema)
    try:
        run(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    args = parser.parse_args()
    print(f"reading ingest: {args.rows:,} rows bulk vs {args.naive_rows:,} rows one-per-commit")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+pysqlite:///{Path(tmp) / 'bench.sqlite3'}")
        measure("sqlite", engine, args.rows, args.naive_rows)
        engine.dispose()
    with_pg(lambda engine: measure("postgresql", engine, args.rows, args.naive_rows) and None)


if __name__ == "__main__":
    main()
