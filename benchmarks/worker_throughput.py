"""Poll throughput with 1, 2 and 4 ``stockwatch worker`` processes, latency-bound.

``python -m benchmarks.worker_throughput [--offers 1000 --latency-ms 400 --threads 2
--in-flight 4]``

The simulator (a child process) answers every call after ``--latency-ms`` and does not
throttle; the budget is set far above what the workers can spend, so the gateway's latency is
the limit, as for a real shop polling gw.open.1688.com from far away. Each run gets a fresh
database (PostgreSQL schema when reachable, else SQLite), a scheduler that queues the poll
tasks, and N workers (``--threads`` tasks at once each; ``--in-flight`` requests at once per
worker process: ``[gateway] concurrency``, one keep-alive pool per process). Measured: from the
scheduler queueing the tasks to every SKU's reading stored. The peer is the 1-worker run of the
same catalogue in the same run. Targets: ≥ 1.8× at 2 workers, ≥ 3.5× at 4.

Is latency the limit? The run also measures the CPU time the workers and the simulator spent
per offer read (from /proc, between the same two moments) and the whole machine's busy CPU
(every process, other users' included): at W workers the latency-bound rate is
W × in-flight / latency offers per second, and it needs that rate × CPU per offer of the
machine's 2 cores. The output prints both, so a run where CPU, not latency, was the limit
says so. The latency is the same for every worker count.
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
from dataclasses import dataclass
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


def _config(tmp: Path, run: str, gateway: str, token: str, db: str, in_flight: int) -> Path:
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
concurrency = {in_flight}
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


def _count(engine: Any) -> int:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT count(DISTINCT item_key) FROM readings")).scalar()
    return int(found or 0)


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def postgres_seconds() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process (other users' backends too: an upper bound)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                found[int(entry.name)] = cpu_seconds(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (every process on the machine)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK


@dataclass(frozen=True)
class Run:
    """One measured run: wall time and the CPU seconds spent meanwhile."""

    seconds: float
    workers_cpu: float  # the worker processes
    sim_cpu: float  # the 1688 simulator
    pg_cpu: float  # every PostgreSQL process (other users' included)
    busy: float  # every process on the machine


def one_run(
    tmp: Path, workers: int, threads: int, in_flight: int, sim_pid: int, urls: tuple[str, str]
) -> Run:
    gateway, token = urls
    run = f"w{workers}"
    db, drop = _database(tmp, run)
    config = _config(tmp, run, gateway, token, db, in_flight)
    skus = len((tmp / "items.csv").read_text().splitlines()) - 1
    subprocess.run(
        [*STOCKWATCH, "db", "upgrade", "-c", str(config)], check=True, cwd=tmp, capture_output=True
    )
    procs = []
    logs = [tmp / f"{run}-{i}.log" for i in range(workers)]
    engine = create_engine(db)
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
        cpu = [cpu_seconds(p.pid) for p in procs[:workers]]
        sim, busy, pg = cpu_seconds(sim_pid), machine_busy_seconds(), postgres_seconds()
        while _count(engine) < skus:
            time.sleep(0.2)
        pg_now = postgres_seconds()
        return Run(
            time.perf_counter() - start,
            sum(cpu_seconds(p.pid) for p in procs[:workers]) - sum(cpu),
            cpu_seconds(sim_pid) - sim,
            sum(v - pg.get(pid, 0.0) for pid, v in pg_now.items()),
            machine_busy_seconds() - busy,
        )
    finally:
        engine.dispose()
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
    # Why 400 ms (200 ms before): the measured CPU per offer read — workers ≈ 4–6 ms, simulator
    # ≈ 1 ms, PostgreSQL ≈ 1–2 ms on this box, ≈ 7 ms together — times the 4-worker latency bound
    # (4 × 4 in flight / 0.4 s = 40 offers/s) is ≈ 0.3 of the 2 cores; at 200 ms and 8 in
    # flight it was 160/s ≈ 1.1 cores, half the machine: CPU, not latency, was the limit.
    parser.add_argument("--latency-ms", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=4)  # [gateway] concurrency's default
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
            f"{args.offers:,} offers ({skus:,} SKUs), {args.latency_ms} ms gateway latency "
            f"(every worker count), {args.threads} task thread(s) and {args.in_flight} requests "
            f"in flight per worker; load average {os.getloadavg()[0]:.1f}"
        )
        times, cpu_per_offer = {}, 0.0
        for workers in (1, 2, 4):
            got = one_run(
                tmp, workers, args.threads, args.in_flight, child.pid or 0, (gateway, access)
            )
            times[workers] = got.seconds
            per = 1000 / args.offers
            bound = workers * args.in_flight / (args.latency_ms / 1000)
            cpu_per_offer = (got.workers_cpu + got.sim_cpu + got.pg_cpu) * per
            print(
                f"{workers} worker(s): {got.seconds:.1f} s, {args.offers / got.seconds:.0f} "
                f"offers/s (latency bound {bound:.0f}/s); CPU per offer: workers "
                f"{got.workers_cpu * per:.2f} ms, simulator {got.sim_cpu * per:.2f} ms, "
                f"PostgreSQL ≤ {got.pg_cpu * per:.2f} ms; the machine was "
                f"{got.busy / got.seconds:.2f} of 2 cores busy (every process)"
            )
        need = 4 * args.in_flight / (args.latency_ms / 1000) * cpu_per_offer / 1000
        print(
            f"latency is the limit when the 4-worker latency bound needs a small share of the 2 "
            f"cores: {cpu_per_offer:.2f} ms CPU per offer (4-worker run) × "
            f"{4 * args.in_flight / (args.latency_ms / 1000):.0f} offers/s = {need:.2f} cores "
            f"({need / 2:.0%}) against {args.latency_ms} ms of latency per request"
        )
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
