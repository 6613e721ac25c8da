"""Poll throughput with 1, 2 and 4 ``stockwatch worker`` processes, latency-bound.

``python -m benchmarks.worker_throughput [--offers 1000 --latency-ms 200 --threads 2]``

The simulator (a child process) answers every call after ``--latency-ms`` and does not
throttle; the budget is set far above what the workers can spend, so the gateway's latency is
the limit, as for a real shop polling gw.open.1688.com from far away. Each run gets a fresh
database (PostgreSQL schema when reachable, else SQLite), a scheduler that queues the poll
tasks, and N workers (``--threads`` tasks at once each, every task with 4 requests in flight).
Measured: from the scheduler taking the lead to every SKU's reading stored. The peer is the
1-worker run of the same catalogue in the same run. Targets: ≥ 1.8× at 2 workers, ≥ 3.5× at 4.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from stockwatch.adapters.alibaba1688.simulator.app import ADMIN_HEADER
from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue
from stockwatch.adapters.alibaba1688.simulator.faults import parse_fault
from stockwatch.adapters.alibaba1688.simulator.gateway import SimOptions
from stockwatch.adapters.alibaba1688.simulator.server import serve_forever

PG_URL = os.environ.get("STOCKWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STOCKWATCH_TEST_REDIS", "redis://127.0.0.1:6379/0")
KEY, SECRET = "5555555", "demoSecret123"
STOCKWATCH = [sys.executable, "-m", "stockwatch.entrypoints.cli.app"]


def _child(offers: int, latency_ms: int, urls: Any) -> None:
    catalogue = Catalogue.generate(offers, (1, 3), 5, churn=False)
    faults = [parse_fault(f"latency:1:{latency_ms}ms")]
    options = SimOptions(app_key=KEY, app_secret=SECRET, qps=None, faults=faults)
    serve_forever(catalogue, options, port=0, on_ready=urls.put)


def _items_csv(path: Path, offers: int) -> int:
    catalogue = Catalogue.generate(offers, (1, 3), 5, churn=False)
    lines = ["sku,title,offer_id,spec_id"]
    for offer in catalogue:
        for sku in offer.skus:
            lines.append(f"B-{sku.sku_id},样品,{offer.offer_id},{sku.spec_id}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def _database(tmp: Path, run: str) -> tuple[str, Any]:
    try:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            schema = f"bench_w_{uuid.uuid4().hex[:8]}"
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception:  # PostgreSQL not reachable: SQLite on this host
        return f"sqlite+pysqlite:///{tmp / f'{run}.sqlite3'}", None

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


def _config(tmp: Path, run: str, gateway: str, token: str, db: str) -> Path:
    config = tmp / f"{run}.toml"
    config.write_text(
        f"""
[general]
data_dir = "data-{run}"
[catalog]
items = "items.csv"
[thresholds]
strategy = "fixed"
threshold = 50
[database]
url = "{db}"
[gateway]
base_url = "{gateway}"
access_token = "{token}"
qps = 10000
concurrency = 4
read_timeout = "30s"
[daemon]
channels = ["console"]
deliver_every = "1h"
[[daemon.groups]]
name = "all"
interval = "1h"
[scale]
redis_url = "{REDIS_URL}"
key_prefix = "bw{uuid.uuid4().hex[:8]}"
offers_per_task = 25
""",
        encoding="utf-8",
    )
    return config


def _count(db: str) -> int:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(DISTINCT item_key) FROM readings")).scalar() or 0
            )
    finally:
        engine.dispose()


def one_run(tmp: Path, workers: int, threads: int, gateway: str, token: str, skus: int) -> float:
    run = f"w{workers}"
    db, drop = _database(tmp, run)
    config = _config(tmp, run, gateway, token, db)
    subprocess.run(
        [*STOCKWATCH, "db", "upgrade", "-c", str(config)], check=True, cwd=tmp, capture_output=True
    )
    procs = []
    logs = [tmp / f"{run}-{i}.log" for i in range(workers)]
    try:
        for log in logs:
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [*STOCKWATCH, "worker", "-c", str(config), "--concurrency", str(threads)],
                        cwd=tmp,
                        stdout=out,
                        stderr=out,
                    )
                )
        while not all("ready" in log.read_text() for log in logs):
            time.sleep(0.2)
        sched_log = tmp / f"{run}-sched.log"
        with sched_log.open("wb") as out:
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            procs.append(
                subprocess.Popen(
                    [*STOCKWATCH, "scheduler", "-c", str(config), "--tick", "0.2"],
                    cwd=tmp,
                    stdout=out,
                    stderr=out,
                    env=env,
                )
            )
        while "task(s) queued" not in sched_log.read_text():
            time.sleep(0.05)
        start = time.perf_counter()
        while _count(db) < skus:
            time.sleep(0.2)
        return time.perf_counter() - start
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if drop is not None:
            drop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offers", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    urls: Any = mp.Queue()
    child = mp.Process(target=_child, args=(args.offers, args.latency_ms, urls), daemon=True)
    child.start()
    gateway = urls.get(timeout=120)
    token = httpx.post(
        f"{gateway}/_admin/token", json={"member": "seller"}, headers={ADMIN_HEADER: SECRET}
    )
    access = token.json()["access_token"]
    ok = True
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        skus = _items_csv(tmp / "items.csv", args.offers)
        print(
            f"{args.offers:,} offers ({skus:,} SKUs), {args.latency_ms} ms gateway latency, "
            f"{args.threads} task thread(s) per worker, 4 requests in flight per task"
        )
        times = {}
        for workers in (1, 2, 4):
            times[workers] = one_run(tmp, workers, args.threads, gateway, access, skus)
            rate = args.offers / times[workers]
            print(f"{workers} worker(s): {times[workers]:.1f} s, {rate:.0f} offers/s")
        for workers, target in ((2, 1.8), (4, 3.5)):
            ratio = times[1] / times[workers]
            good = ratio >= target
            ok &= good
            print(
                f"{'PASS' if good else 'FAIL'} {workers} workers: {ratio:.2f}× the 1-worker "
                f"throughput (target ≥ {target}×)"
            )
    child.terminate()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
