"""Two shops in one deployment: one worker process serves both, each from its own database.

Both shops sell the same SKUs (same offer and spec ids, on two 1688 gateway simulators, one per
member account) but hold different stock. Each shop has its own PostgreSQL schema, queue and
scheduler; one ``stockwatch worker --shop a.toml --shop b.toml`` runs the tasks of both on a
Redis broker (killed with ``kill -9`` mid-task and replaced: nothing is lost). Every reading
must land in its own shop's schema with its own shop's stock: a task
run on the wrong shop's runtime would show up as the other shop's quantities.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from tests.conftest import PG_URL, require_pg, require_redis
from tests.e2e.test_workers import _start, _wait_for, stop_all

STOCKWATCH = [sys.executable, "-m", "stockwatch.entrypoints.cli.app"]


@pytest.fixture
def two_schemas() -> Iterator[tuple[str, str]]:
    require_pg()
    names = [f"shop_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    a, b = (f"{PG_URL}?options=-csearch_path%3D{name}" for name in names)
    yield a, b
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def _stock(sim: SimulatorHandle, catalogue: Catalogue, base: int) -> dict[str, int]:
    """Give every SKU of the shop a stock of its own; return it by item key."""
    want = {}
    for n, offer in enumerate(catalogue):
        for m, sku in enumerate(offer.skus):
            amount = base + 10 * n + m
            sim.set_stock(offer.offer_id, amount, sku.spec_id)
            want[f"W-{sku.sku_id}"] = amount
    return want


def _shop(root: Path, catalogue: Catalogue, sim: SimulatorHandle, db: str, run: str) -> Path:
    root.mkdir()
    lines = ["sku,title,offer_id,spec_id"]
    for offer in catalogue:
        for sku in offer.skus:
            lines.append(f"W-{sku.sku_id},样品,{offer.offer_id},{sku.spec_id}")
    (root / "items.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = root / "stockwatch.toml"
    config.write_text(
        f"""
[general]
data_dir = "data"
lang = "en"
[catalog]
items = "items.csv"
[thresholds]
strategy = "fixed"
threshold = 10
[database]
url = "{db}"
[gateway]
base_url = "{sim.base_url}"
access_token = "{sim.mint_token().access_token}"
qps = 50
[daemon]
channels = ["console"]
deliver_every = "1h"
[[daemon.groups]]
name = "all"
interval = "1h"
[scale]
redis_url = "{require_redis()}"
key_prefix = "{run}-{root.name}"
broker_prefix = "{run}"
offers_per_task = 3
visibility_timeout = 4
""",
        encoding="utf-8",
    )
    subprocess.run([*STOCKWATCH, "db", "upgrade", "-c", str(config)], check=True, cwd=root)
    return config


def _readings(db: str) -> dict[str, int]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT item_key, on_hand FROM readings")).all()
    finally:
        engine.dispose()
    return {str(key): int(on_hand) for key, on_hand in rows}


def test_one_worker_serves_two_shops_and_each_shop_sees_only_its_own_stock(
    tmp_path: Path, two_schemas: tuple[str, str]
) -> None:
    db_a, db_b = two_schemas
    run = f"t{uuid.uuid4().hex[:8]}"
    cat_a, cat_b = (Catalogue.generate(12, (1, 3), 21, churn=False) for _ in range(2))
    for offer in (*cat_a, *cat_b):
        offer.rate = 0.0  # no buyers: the stock stays what each shop was given
    with (
        running_simulator(cat_a, qps=None) as sim_a,
        running_simulator(cat_b, qps=None) as sim_b,
    ):
        want_a, want_b = _stock(sim_a, cat_a, 100), _stock(sim_b, cat_b, 5000)
        assert want_a.keys() == want_b.keys()  # the same SKUs in both shops
        shop_a = _shop(tmp_path / "a", cat_a, sim_a, db_a, run)
        shop_b = _shop(tmp_path / "b", cat_b, sim_b, db_b, run)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            both = ["worker", "--shop", str(shop_a), "--shop", str(shop_b), "--concurrency", "2"]
            first_log, worker_log = tmp_path / "worker-killed.log", tmp_path / "worker.log"
            first = _start(both, first_log, tmp_path)
            procs.append(first)
            for shop in (shop_a, shop_b):
                log = shop.parent / "scheduler.log"
                procs.append(
                    _start(["scheduler", "-c", str(shop), "--tick", "0.2"], log, shop.parent)
                )
            # kill -9 the worker in the middle of a task: on the Redis broker its unacknowledged
            # tasks come back after the visibility timeout (4 s here) to the next worker.
            _wait_for("a task taken", lambda: "stockwatch.poll_batch" in first_log.read_text(), 60)
            first.send_signal(signal.SIGKILL)
            first.wait()
            procs.append(_start(both, worker_log, tmp_path))
            # kombu's Redis transport brings back unacknowledged tasks from a periodic sweep,
            # not at once: every 2 s with a 4 s timeout (app.restore_settings; kombu's default
            # sweep came every 100 s). The ceiling leaves room for a loaded machine.
            _wait_for(
                "both shops read",
                lambda: len(_readings(db_a)) == len(want_a) and len(_readings(db_b)) == len(want_b),
                90,
            )
            assert _readings(db_a) == want_a
            assert _readings(db_b) == want_b
            assert "does not serve shop" not in worker_log.read_text()
        finally:
            stop_all(procs)


def test_a_worker_refuses_two_shops_with_the_same_identity(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "stockwatch.toml").write_text(
            '[general]\nlang = "en"\n[scale]\nredis_url = "redis://127.0.0.1:6379/0"\n'
            'key_prefix = "same"\n',
            encoding="utf-8",
        )
    result = subprocess.run(
        [
            *STOCKWATCH,
            "worker",
            "--shop",
            str(tmp_path / "a" / "stockwatch.toml"),
            "--shop",
            str(tmp_path / "b" / "stockwatch.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 1
    assert "same [scale] key_prefix (same): each shop needs its own" in result.stderr
    assert "Traceback" not in result.stderr
