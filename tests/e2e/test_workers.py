"""Three worker processes and two schedulers against the 1688 simulator (50 ms added latency,
20,000 offers: ~40,000 SKUs).

Real PostgreSQL (a schema of this test's own), RabbitMQ (a queue of its own) and Redis (a key
prefix of its own). One worker is killed with ``kill -9`` while it runs a poll task: every item
is still read, because the task goes back to the queue. No notice is queued twice, the
simulator never throttles (the three workers share one budget in Redis), and the standby
scheduler takes over within a bounded time when the leader is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from stockwatch.adapters.alibaba1688.simulator.app import ADMIN_HEADER
from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue
from stockwatch.adapters.alibaba1688.simulator.faults import parse_fault
from stockwatch.adapters.alibaba1688.simulator.server import running_simulator
from tests.conftest import PG_URL, RABBITMQ_URL, require_pg, require_redis

QPS = 300.0  # the app key's quota, enforced by the simulator
OFFERS = 20_000
STOCKWATCH = [sys.executable, "-m", "stockwatch.entrypoints.cli.app"]


def _require_rabbitmq() -> None:
    import kombu

    try:
        with kombu.Connection(RABBITMQ_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # any connect failure means "not reachable"
        if os.environ.get("CI"):
            pytest.fail(f"RabbitMQ is required in CI but unreachable: {exc}")
        pytest.skip(f"RabbitMQ unreachable at {RABBITMQ_URL} ({exc}); required when CI is set")


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _shop(root: Path, catalogue: Catalogue, gateway: str, token: str, db: str, redis: str) -> Path:
    lines = ["sku,title,offer_id,spec_id"]
    for offer in catalogue:
        for sku in offer.skus:
            lines.append(f"W-{sku.sku_id},样品{sku.sku_id},{offer.offer_id},{sku.spec_id}")
    (root / "items.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prefix = f"t{uuid.uuid4().hex[:10]}"
    config = root / "stockwatch.toml"
    config.write_text(
        f"""
[general]
data_dir = "data"
lang = "en"
[catalog]
items = "items.csv"
[alerting]
debounce = {{ T1 = "0s", T2 = "0s", T3 = "0s", OUT = "0s" }}
[thresholds]
strategy = "fixed"
threshold = 600
[database]
url = "{db}"
[gateway]
base_url = "{gateway}"
access_token = "{token}"
qps = {QPS * 0.9}
concurrency = 16
max_attempts = 3
backoff_initial = "0.2s"
[daemon]
channels = ["console"]
deliver_every = "1h"
[[daemon.groups]]
name = "all"
interval = "1h"
[scale]
redis_url = "{redis}"
broker_url = "{RABBITMQ_URL}"
key_prefix = "{prefix}"
offers_per_task = 100
""",
        encoding="utf-8",
    )
    return config


def _start(args: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen([*STOCKWATCH, *args], cwd=cwd, stdout=out, stderr=out, env=env)


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process still running, then kill what has not stopped within 15 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


def test_three_workers_poll_everything_once_within_budget_and_a_standby_takes_over(
    tmp_path: Path, pg_schema_url: str
) -> None:
    redis_url = require_redis()
    _require_rabbitmq()
    catalogue = Catalogue.generate(OFFERS, (1, 3), 11, churn=False)
    skus = sum(len(o.skus) for o in catalogue)
    latency = parse_fault("latency:1:50ms")
    # The simulator holds the workers to QPS over any second (a bucket of one second's worth).
    # The workers share a budget of 90 % of it in Redis, as docs/scaling.md advises: requests
    # released on schedule still arrive bunched when a loaded machine pauses a process, and at
    # a sustained full quota (run with the budget at 100 %: 63 throttled of 20,000) a bunch
    # finds the simulator's bucket empty. Three workers without the shared budget would spend
    # up to 3×; each can keep 16 requests in flight, 960/s at 50 ms, so the budget binds.
    with running_simulator(catalogue, qps=QPS, burst=QPS, faults=[latency]) as sim:
        token = sim.mint_token().access_token
        config = _shop(tmp_path, catalogue, sim.base_url, token, pg_schema_url, redis_url)
        # Migrate once before the processes start (they would race to create the schema).
        subprocess.run([*STOCKWATCH, "db", "upgrade", "-c", str(config)], check=True, cwd=tmp_path)
        engine = create_engine(pg_schema_url)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            logs = [tmp_path / f"worker{i}.log" for i in range(3)]
            for log in logs:
                procs.append(
                    _start(["worker", "-c", str(config), "--concurrency", "2"], log, tmp_path)
                )
            leader_log, standby_log = tmp_path / "sched-a.log", tmp_path / "sched-b.log"
            leader = _start(["scheduler", "-c", str(config), "--tick", "0.2"], leader_log, tmp_path)
            procs.append(leader)
            _wait_for("the leader", lambda: "scheduler: leader," in leader_log.read_text(), 60)
            standby = _start(
                ["scheduler", "-c", str(config), "--tick", "0.2"], standby_log, tmp_path
            )
            procs.append(standby)

            # Kill a worker in the middle of a poll task.
            def running() -> bool:
                return "stockwatch.poll_batch" in logs[0].read_text()

            _wait_for("worker 0 to take a task", running, 60)
            procs[0].send_signal(signal.SIGKILL)

            def read_items() -> int:
                with engine.connect() as conn:
                    return int(
                        conn.execute(text("SELECT count(DISTINCT item_key) FROM readings")).scalar()
                        or 0
                    )

            _wait_for(f"readings of all {skus} SKUs", lambda: read_items() == skus, 600)
            # Both counts from one snapshot: every SKU has a reading before the last batch's
            # evaluation commits, and a commit between two plain reads showed that batch's
            # events without its deliveries (78 raised, 69 queued; seen at load average 12).
            with engine.connect() as conn:
                conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    keys = [
                        r[0] for r in conn.execute(text("SELECT idempotency_key FROM deliveries"))
                    ]
                    raised = conn.execute(
                        text("SELECT count(*) FROM alert_events WHERE kind = 'raised'")
                    ).scalar()
            assert raised and len(keys) >= raised  # every notice is queued ...
            assert len(keys) == len(set(keys))  # ... once
            stats = httpx.post(
                f"{sim.base_url}/_admin/stats", json={}, headers={ADMIN_HEADER: sim.app_secret}
            ).json()
            assert stats["errors"].get("gw.QosAppFrequencyLimit", 0) == 0

            # The standby scheduler takes over when the leader dies.
            assert "scheduler: leader," not in standby_log.read_text()
            leader.send_signal(signal.SIGKILL)
            took = _wait_for(
                "the standby to lead", lambda: "scheduler: leader," in standby_log.read_text(), 15
            )
            assert took < 15
        finally:
            stop_all(procs)
            engine.dispose()
