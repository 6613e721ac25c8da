"""A small shop for daemon tests: two items with hand-set levels, a stock file or the 1688
simulator as the source, a config; and a daemon run in the test's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue, Offer, Sku, step_of
from stockwatch.adapters.db.store import SqlStore
from stockwatch.entrypoints.daemon import Daemon
from stockwatch.wiring.compose import build_daemon

SECRET = "demoSecret123"
ITEMS = (
    "sku,title,offer_id,sku_id\n"
    "RUBBER-DUCK,黄色橡皮鸭,610000000001,\n"
    "GLOW-LAMP,夜光灯,610000000002,5104790281451\n"
)


DUCK_OFFER, LAMP_OFFER, LAMP_SKU, LAMP_SPEC = 610000000001, 610000000002, 5104790281451, "glow"
# Alerts go to the console and open replenishment tasks (extra config for write_shop).
TASK_ROUTES = """
[[channels]]
name = "console"
url = "console://?lang=en"
[[channels]]
name = "task"
url = "task://"
[[routes]]
name = "shop"
channels = ["console", "task"]
lang = "en"
"""


def write_shop(
    root: Path, interval: float = 0.2, extra: str = "", gateway: str | None = None
) -> Path:
    """Write items.csv and stockwatch.toml under ``root``; return the config path.

    The daemon reads ``stock.csv`` or, given ``gateway`` (a simulator's base URL), polls 1688.
    """
    (root / "items.csv").write_text(ITEMS, encoding="utf-8")
    levels = "t1 = 50\nt2 = 30\nt3 = 10\n"
    source = 'stock_file = "stock.csv"'
    if gateway is not None:
        source = ""
        extra += (
            f'\n[gateway]\nbase_url = "{gateway}"\nqps = 200\nread_timeout = "2s"\n'
            'connect_timeout = "1s"\nmax_attempts = 3\nbackoff_initial = "0.05s"\n'
            'backoff_max = "0.2s"\n'
        )
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
[items."RUBBER-DUCK"]
{levels}
[items."GLOW-LAMP"]
{levels}
[daemon]
{source}
channels = ["console", "dingtalk"]
push_app_secret = "{SECRET}"
deliver_every = 0.2
[[daemon.groups]]
name = "fast"
interval = {interval}
[daemon.http]
port = 0
{extra}
""",
        encoding="utf-8",
    )
    return config


def shop_catalogue(duck: int, lamp: int) -> Catalogue:
    """The shop's two offers for the simulator, with no sales and no restocks: the stock moves
    only when a test sets it."""
    now = step_of(datetime.now(UTC))
    cat = Catalogue(seed=1, churn=False)
    for offer_id, skus, amount in (
        (DUCK_OFFER, [], duck),
        (LAMP_OFFER, [Sku(LAMP_SKU, LAMP_SPEC, lamp, "黄色")], 0),
    ):
        cat.add(Offer(offer_id, "样品", skus, amount, "steady", 0.0, -1, 0, step=now))
    return cat


def write_stock(root: Path, at: datetime, duck: int, lamp: int) -> None:
    """Rewrite the stock snapshot atomically, as an ERP export would."""
    text = (
        f"sku,on_hand,observed_at\n"
        f"RUBBER-DUCK,{duck},{at.isoformat()}\n"
        f"GLOW-LAMP,{lamp},{at.isoformat()}\n"
    )
    tmp = root / "stock.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(root / "stock.csv")


class OffsetClock:
    """Real time plus an offset the test moves forward by days."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def until(condition: Callable[[], object], what: str, timeout: float = 20) -> Any:
    """Return ``condition()`` (run off the loop) once it is truthy; fail after ``timeout`` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await asyncio.to_thread(condition)
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def daemon_running(
    cfg: Any, clock: Callable[[], datetime]
) -> AsyncIterator[tuple[httpx.AsyncClient, SqlStore]]:
    """Run the daemon of ``cfg`` on ``clock``; yield a client of its HTTP API and its store."""
    parts = build_daemon(cfg, http_port=0, clock=clock)
    store = parts.store
    assert isinstance(store, SqlStore)
    daemon = Daemon(parts)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 20)
        async with httpx.AsyncClient(base_url=str(daemon.url)) as web:
            yield web, store
    finally:
        daemon.stop.set()
        await asyncio.wait_for(task, 20)
        store.engine.dispose()
