"""``stockwatch run`` answers HTTP before the slow start-up work (catalogue, levels, item sync).

At 100,000 items that work took ~50 s and the health check waited for all of it; now the
server is up first and polling starts once the work is done.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx

from stockwatch.config.settings import load_config
from stockwatch.entrypoints.daemon import Daemon
from stockwatch.wiring.compose import build_daemon
from tests.e2e.daemon_setup import write_shop, write_stock


def test_http_answers_while_the_catalogue_is_still_loading(tmp_path: Path) -> None:
    write_stock(tmp_path, datetime.now(UTC), duck=5, lamp=500)
    parts = build_daemon(load_config(write_shop(tmp_path), env={}), http_port=0, lazy=True)
    assert parts.prepare is not None
    slow_work, release = parts.prepare, threading.Event()

    def prepare() -> None:
        release.wait(20)  # the catalogue of a big shop, still loading
        slow_work()

    parts.prepare = prepare
    parts.max_cycles = 1
    daemon = Daemon(parts)

    async def main() -> None:
        task = asyncio.create_task(daemon.run())
        try:
            while daemon.url is None:
                assert not task.done()
                await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=daemon.url) as client:
                assert (await client.get("/healthz")).status_code == 200
                assert (await client.get("/")).status_code == 200
            assert not daemon.ready.is_set() and daemon.cycles == 0  # no poll before the items
            release.set()
            await asyncio.wait_for(task, 20)  # one poll cycle after the work, then stop
            assert daemon.cycles == 1
        finally:
            release.set()
            daemon.stop.set()
            await asyncio.wait_for(asyncio.shield(task), 20) if not task.done() else None

    asyncio.run(main())
    assert [i.sku for i in parts.store.items()] == ["GLOW-LAMP", "RUBBER-DUCK"]
