"""Dashboard at scale: 100,000 items and 10 million readings, SQLite and PostgreSQL.

``python -m benchmarks.dashboard [--items 100000] [--readings-per-item 100] [--runs 30]``

Measured through the real app (``create_app`` under Starlette's test client: routing, SQL,
templates): p50/p95 of the overview's first page, a filtered overview page (supplier + at-risk
tier + search), an item page and ``/api/items``; then the same requests with the indexes of
migration 0005 dropped (the peer, fewer runs), and the indexes put back. Target: p95 < 150 ms
for each with the indexes. Last, ``stockwatch run`` is started on a copy of the SQLite database
with a 100,000-item catalogue and timed until ``/healthz`` answers; target < 5 s, with the
package byte-compiled as an install leaves it (the start that compiles every module from
source is printed beside it).

The data is generated once with bulk inserts (SQLite: executemany in one transaction, indexes
built afterwards; PostgreSQL: COPY) and cached: the SQLite file under ``benchmarks/.cache``,
the PostgreSQL data in a schema named after the size (``bench_dash_<items>x<per>``) that later
runs reuse.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

import stockwatch
from stockwatch.adapters.db import migrate
from stockwatch.adapters.db.codec import state_to_json
from stockwatch.adapters.db.engine import make_engine
from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import AlertState, Phase, Tier
from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.service.status import status_summary

PG_URL = os.environ.get("STOCKWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CACHE = Path(__file__).parent / ".cache"
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
TARGET_MS = 150.0
START_TARGET_S = 5.0
SUPPLIERS, CATEGORIES = 200, 50
# The indexes of migrations 0005, 0011 and 0013 that the pages use (the readings one serves the
# start-up catch-up). The peer runs without them; the tier counts of 0011 stay (not an index).
PAGE_INDEXES = {
    "ix_items_active_key": "items (key) WHERE active",
    "ix_items_category": "items (category, key)",
    "ix_items_supplier": "items (supplier, key)",
    "ix_items_warehouse": "items (warehouse, key)",
    "ix_thresholds_active": "thresholds (item_key) WHERE status = 'active'",  # 0013
    "ix_alert_states_rank": "alert_states (tier_rank, item_key)",
    "ix_replenishment_tasks_status": "replenishment_tasks (status, item_key)",
}


def tier_of(i: int) -> Tier:
    """10 % of the items at risk: 1 % OUT, 2 % T3, 3 % T2, 4 % T1."""
    r = i % 100
    return (
        Tier.OUT
        if r == 0
        else Tier.T3
        if r <= 2
        else Tier.T2
        if r <= 5
        else Tier.T1
        if r <= 9
        else Tier.OK
    )


def sku(i: int) -> str:
    return f"SKU-{i:06d}"


# -- data --------------------------------------------------------------------------------------


def _rows(items: int, per: int) -> dict[str, Callable[[], Iterator[tuple[Any, ...]]]]:
    """Row generators per table, in column order of ``_COLUMNS``."""
    start = NOW - timedelta(hours=per)

    def item_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(items):
            tags = '["季节"]' if i % 10 == 0 else "[]"
            yield (
                sku(i), sku(i), None, f"商品 {i} 龙纹茶杯", f"供应商-{i % SUPPLIERS:03d}",
                f"类目-{i % CATEGORIES:02d}", "B", tags, 1, 1, "default", True, NOW,
            )  # fmt: skip

    def state_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(items):
            tier = tier_of(i)
            available = 40 - int(tier) * 10 + i % 7
            state = AlertState(
                phase=Phase.OK if tier is Tier.OK else Phase.FIRING,
                tier=tier,
                since=None if tier is Tier.OK else NOW - timedelta(hours=5),
                last_reading_at=NOW,
                last_available=available,
                version=per,
            )
            yield (
                sku(i), state.phase.value, tier.name, json.dumps(state_to_json(state)), per,
                NOW, NOW, int(tier), available, 0,
            )  # fmt: skip

    def threshold_rows() -> Iterator[tuple[Any, ...]]:
        basis = json.dumps({"strategy": "reorder_point", "inputs": [["d", 2.0]], "steps": []})
        for i in range(items):
            yield (sku(i), 1, start, "active", 60, 40, 15, 2.0 + i % 7, "reorder_point", basis)

    def reading_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(items):
            key = sku(i)
            for h in range(per):
                at = start + timedelta(hours=h + 1)
                yield (key, at, at, "poll", 200 - (h * 2 + i) % 190, 0, 0, "active")

    def event_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(items):
            tier = tier_of(i)
            if tier is not Tier.OK:
                yield (
                    f"bench|{sku(i)}|1", sku(i), "raised", tier.name, "OK",
                    NOW - timedelta(hours=5), 1, 5, 5, 60, 40, 15, 2.0, "", "{}",
                )  # fmt: skip

    def task_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(items):
            if tier_of(i) >= Tier.T2:
                yield (
                    f"task|{sku(i)}", sku(i), f"供应商-{i % SUPPLIERS:03d}", 30, "open", NOW,
                    "{}", sku(i), f"商品 {i}", tier_of(i).name,
                )  # fmt: skip

    return {
        "items": item_rows,
        "alert_states": state_rows,
        "thresholds": threshold_rows,
        "readings": reading_rows,
        "alert_events": event_rows,
        "replenishment_tasks": task_rows,
    }


_COLUMNS = {
    "items": "key, sku, warehouse, title, supplier, category, item_class, tags, min_order_qty,"
    " order_multiple, poll_group, active, updated_at",
    "alert_states": "item_key, phase, tier, state, version, updated_at, last_reading_at,"
    " tier_rank, available, failed_reads",
    "thresholds": "item_key, version, computed_at, status, t1, t2, t3, velocity, strategy, basis",
    "readings": "item_key, observed_at, received_at, source, on_hand, committed, in_transit,"
    " offer_status",
    "alert_events": "idempotency_key, item_key, kind, tier, previous_tier, at, episode,"
    " available, on_hand, t1, t2, t3, velocity, detail, payload",
    "replenishment_tasks": "idempotency_key, item_key, supplier, suggested_qty, status,"
    " created_at, payload, sku, title, tier",
}
_READING_INDEXES = {
    "ix_readings_item_time": "readings (item_key, observed_at)",
    "ix_readings_received_at": "readings (received_at)",
}


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return v


def build_sqlite(path: Path, items: int, per: int) -> None:
    if path.exists():
        return
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    engine = make_engine(f"sqlite+pysqlite:///{tmp}")
    migrate.upgrade(engine)
    engine.dispose()
    started = time.perf_counter()
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    for name in _READING_INDEXES:  # built once after the 10M rows, not row by row
        conn.execute(f"DROP INDEX {name}")
    conn.execute("BEGIN")
    for table, rows in _rows(items, per).items():
        cols = _COLUMNS[table]
        marks = ", ".join("?" * len(cols.split(",")))
        conn.executemany(
            f"INSERT INTO {table} ({cols}) VALUES ({marks})",
            (tuple(_sqlite_value(v) for v in row) for row in rows()),
        )
    conn.execute("COMMIT")
    for name, spec in _READING_INDEXES.items():
        conn.execute(f"CREATE INDEX {name} ON {spec}")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    tmp.rename(path)
    print(f"  sqlite: generated in {time.perf_counter() - started:.0f} s -> {path}", flush=True)


# The page tables. Autovacuum keeps their visibility maps current in a normal deployment
# (index-only scans depend on it); the server here runs with autovacuum off, so the benchmark
# vacuums them as autovacuum would after a bulk load (cheap when nothing changed since).
_VACUUMED = (
    "items",
    "alert_states",
    "thresholds",
    "replenishment_tasks",
    "alert_events",
    "tier_counts",
)


def vacuum(engine: Engine) -> None:
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        driver.autocommit = True  # type: ignore[union-attr]  # VACUUM runs outside a transaction
        for table in _VACUUMED:
            driver.execute(f"VACUUM ANALYZE {table}")  # type: ignore[union-attr]
        driver.autocommit = False  # type: ignore[union-attr]
    finally:
        raw.close()


def build_pg(schema: str, items: int, per: int) -> Engine | None:
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            done = conn.execute(
                text("SELECT 1 FROM information_schema.tables WHERE table_schema = :s"
                     " AND table_name = 'bench_complete'"),
                {"s": schema},
            ).first()  # fmt: skip
            if done is None:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: the PostgreSQL half is skipped, and says so
        print(f"  postgresql: not reachable ({type(exc).__name__}); skipped")
        return None
    finally:
        admin.dispose()
    engine = make_engine(PG_URL, schema=schema)
    if done is not None:
        migrate.upgrade(engine)  # cached data from an older schema gets the newer tables
        vacuum(engine)
        return engine
    migrate.upgrade(engine)
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for name in _READING_INDEXES:
            cur.execute(f"DROP INDEX {name}")
        for table, rows in _rows(items, per).items():
            with cur.copy(f"COPY {table} ({_COLUMNS[table]}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        for name, spec in _READING_INDEXES.items():
            cur.execute(f"CREATE INDEX {name} ON {spec}")
        cur.execute("CREATE TABLE bench_complete (at timestamptz)")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    vacuum(engine)
    print(f"  postgresql: generated with COPY in {time.perf_counter() - started:.0f} s", flush=True)
    return engine


# -- measuring ---------------------------------------------------------------------------------

REQUESTS = {
    "overview first page": "/",
    "overview filtered": "/?supplier=供应商-007&tier=risk&q=茶杯",
    "item page": f"/items/{sku(300)}",
    "items API (100)": "/api/items?limit=100",
}


def _client(engine: Engine) -> TestClient:
    store = SqlStore(engine)

    def summary() -> Any:
        return status_summary(store, {"default": NOW + timedelta(minutes=5)}, NOW)

    deps = WebDeps(
        store=store,
        clock=lambda: NOW,
        push_secret=None,
        status=summary,
        status_summary=summary,
    )
    return TestClient(create_app(deps), base_url="http://127.0.0.1")


def measure(engine: Engine, runs: int) -> dict[str, tuple[float, float, int]]:
    """Return p50, p95 (ms) and the response size per request."""
    out = {}
    with _client(engine) as client:
        for name, path in REQUESTS.items():
            answer = client.get(path)  # warm: templates compiled, pages cached by the DB
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            out[name] = (statistics.median(times), p95, len(answer.content))
    return out


def without_indexes(engine: Engine, runs: int) -> dict[str, tuple[float, float, int]]:
    with engine.begin() as conn:
        for name in PAGE_INDEXES:
            conn.execute(text(f"DROP INDEX {name}"))
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
    try:
        return measure(engine, runs)
    finally:
        with engine.begin() as conn:
            for name, spec in PAGE_INDEXES.items():
                conn.execute(text(f"CREATE INDEX {name} ON {spec}"))
            conn.execute(text("ANALYZE"))


def report(db: str, fast: dict[str, tuple[float, float, int]], slow: dict[str, Any]) -> bool:
    ok = True
    head = f"{'request':<22} {'p50 ms':>8} {'p95 ms':>8} {'no-index p95':>13} {'ratio':>7}"
    print(f"  {db:<10} {head} {'bytes':>8}")
    for name, (p50, p95, size) in fast.items():
        peer = slow[name][1]
        print(f"  {db:<10} {name:<22} {p50:8.1f} {p95:8.1f} {peer:13.1f} {peer / p95:6.1f}x"
              f" {size:8d}")  # fmt: skip
    for name, (_, p95, _) in fast.items():
        good = p95 < TARGET_MS
        ok &= good
        print(f"{'PASS' if good else 'FAIL'} {db} {name}: p95 {p95:.1f} ms < {TARGET_MS:.0f} ms")
    return ok


def _cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (a loaded machine stretches wall time only)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def daemon_start(db_file: Path, items: int, compiled: bool) -> tuple[float, float]:
    """Seconds (wall, CPU) from starting ``stockwatch run`` to the first 200 of ``/healthz``.

    ``compiled``: with stockwatch's modules byte-compiled, as ``pip install`` leaves them (and
    as any second start finds them); else every module is compiled from source at start, as
    under ``PYTHONDONTWRITEBYTECODE`` with an editable install (this machine's shells).
    """
    package = Path(stockwatch.__file__).parent
    if compiled:
        compileall.compile_dir(package, quiet=1)
    else:
        for cache in package.rglob("__pycache__"):
            shutil.rmtree(cache)
    with tempfile.TemporaryDirectory(prefix="sw-dash-") as tmp:
        root = Path(tmp)
        copy = root / "data" / "stockwatch.sqlite3"
        copy.parent.mkdir()
        shutil.copyfile(db_file, copy)
        with (root / "items.csv").open("w", encoding="utf-8") as f:
            f.write("sku,title,supplier,category\n")
            for i in range(items):
                supplier, category = f"供应商-{i % SUPPLIERS:03d}", f"类目-{i % CATEGORIES:02d}"
                f.write(f"{sku(i)},商品 {i} 龙纹茶杯,{supplier},{category}\n")
        (root / "stock.csv").write_text("sku,on_hand\n", encoding="utf-8")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        (root / "stockwatch.toml").write_text(
            f'[general]\ndata_dir = "data"\nlang = "en"\n[catalog]\nitems = "items.csv"\n'
            f'[daemon]\nstock_file = "stock.csv"\n[[daemon.groups]]\nname = "default"\n'
            f"interval = 3600\n[daemon.http]\nport = {port}\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if k != "STOCKWATCH_DATABASE_URL"}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "stockwatch.entrypoints.cli.app", "run", "--config",
             str(root / "stockwatch.toml")],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            while True:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"stockwatch run exited {proc.returncode}: {err[-800:]}")
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    if answer.status_code == 200:
                        return time.perf_counter() - started, _cpu_seconds(proc.pid)
                except httpx.HTTPError:
                    pass
                if time.perf_counter() - started > 120:
                    raise RuntimeError("no answer within 120 s")
                time.sleep(0.05)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--readings-per-item", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--peer-runs", type=int, default=10)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args(argv)
    items, per = args.items, args.readings_per_item
    print(f"dashboard: {items:,} items, {items * per:,} readings", flush=True)
    CACHE.mkdir(exist_ok=True)
    db_file = CACHE / f"dashboard-{items}x{per}.sqlite3"
    build_sqlite(db_file, items, per)
    ok = True
    lite = make_engine(f"sqlite+pysqlite:///{db_file}")
    migrate.upgrade(lite)  # cached data from an older schema gets the newer (empty) tables
    try:
        fast = measure(lite, args.runs)
        ok &= report("sqlite", fast, without_indexes(lite, args.peer_runs))
    finally:
        lite.dispose()
    if not args.no_pg:
        pg = build_pg(f"bench_dash_{items}x{per}", items, per)
        if pg is not None:
            try:
                fast = measure(pg, args.runs)
                ok &= report("postgresql", fast, without_indexes(pg, args.peer_runs))
            finally:
                pg.dispose()
    cold, cold_cpu = daemon_start(db_file, items, compiled=False)
    seconds, cpu = daemon_start(db_file, items, compiled=True)
    good = seconds < START_TARGET_S
    ok &= good
    load = os.getloadavg()[0]
    print(f"  daemon: HTTP answered {seconds:.2f} s after `stockwatch run` started"
          f" ({cpu:.2f} s of CPU; load average {load:.1f} on {os.cpu_count()} cores);"
          f" without byte-compiled modules {cold:.2f} s ({cold_cpu:.2f} s of CPU)")  # fmt: skip
    print(f"{'PASS' if good else 'FAIL'} daemon answers HTTP within {START_TARGET_S:.0f} s: "
          f"{seconds:.2f} s")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
