"""The daemon applies promotions on time: one entered through the API changes an item's levels
at once (no recompute awaited), the item is re-read against them, and deleting it takes it back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey
from stockwatch.entrypoints.daemon import Daemon
from stockwatch.ports import OutgoingMessage
from stockwatch.wiring.compose import build_daemon
from tests.e2e.daemon_setup import write_shop, write_stock
from tests.e2e.test_daemon import _recording_deliver, _run_with

DUCK = ItemKey("RUBBER-DUCK")


def test_a_promotion_posted_to_the_api_raises_the_levels_at_once_and_ends_when_deleted(
    tmp_path: Path,
) -> None:
    write_stock(tmp_path, datetime.now(UTC), duck=30, lamp=500)
    config = write_shop(tmp_path, interval=3600)
    text = config.read_text(encoding="utf-8")
    # the duck gets computed levels (the new-item rule rate), not hand-set ones
    config.write_text(text.replace('[items."RUBBER-DUCK"]\nt1 = 50\nt2 = 30\nt3 = 10\n', ""))
    cfg = load_config(config, env={})
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()

    async def main() -> None:
        sent: asyncio.Queue[tuple[str, OutgoingMessage]] = asyncio.Queue()
        parts = build_daemon(cfg, http_port=0)
        assert isinstance(parts.store, SqlStore) and parts.promotions is not None
        parts.deliver = _recording_deliver(parts.store, sent)
        applied: asyncio.Queue[int] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        run = parts.promotions.run

        def run_and_tell(now: datetime) -> int:
            count = run(now)
            loop.call_soon_threadsafe(applied.put_nowait, count)
            return count

        parts.promotions.run = run_and_tell  # type: ignore[method-assign]
        polled = asyncio.Event()
        parts.on_cycle = lambda group, notices: polled.set()
        daemon = Daemon(parts)

        def duck_t2() -> int:
            levels = parts.evaluator.levels_for(DUCK, None)
            assert levels is not None
            return levels.t2

        async def scenario(url: str) -> None:
            assert await applied.get() == 0  # on start: no promotion anywhere
            # The start poll runs beside the promotions' start run: let it read the first
            # snapshot, or it may read the rewritten one below and leave the re-read nothing new.
            await polled.wait()
            before = duck_t2()
            assert before < 30  # 30 on hand is fine without a promotion
            promo = {
                "name": "双12",
                "start": today.isoformat(),
                "end": (today + timedelta(days=20)).isoformat(),
                "multiplier": 6,
                "skus": ["RUBBER-DUCK"],
            }
            # the ERP rewrites the snapshot (same stock, a newer time): a re-read sees a reading
            write_stock(tmp_path, datetime.now(UTC), duck=30, lamp=500)
            async with httpx.AsyncClient(base_url=url) as client:
                bad = await client.post("/api/promotions", json={**promo, "end": "2000-01-01"})
                assert bad.status_code == 400 and "ends before it starts" in bad.text
                assert (await client.post("/api/promotions", json={"name": "x"})).status_code == 422
                created = await client.post("/api/promotions", json=promo)
                assert created.status_code == 201, created.text
                assert await applied.get() == 1
                assert duck_t2() > 30  # six times the demand over the whole window
                _, message = await sent.get()  # re-read at once against the new levels
                assert "RUBBER-DUCK" in message.title and message.kind == "raised"
                listed = (await client.get("/api/promotions")).json()
                assert [p["name"] for p in listed] == ["双12"]
                gone = await client.delete(f"/api/promotions/{created.json()['id']}")
                assert gone.status_code == 200
                assert await applied.get() == 1  # the item it named is taken back
                assert duck_t2() == before
                assert (await client.delete("/api/promotions/999")).status_code == 404
                assert (await client.get("/api/promotions")).json() == []

        await _run_with(daemon, scenario)
        parts.store.engine.dispose()

    asyncio.run(main())
