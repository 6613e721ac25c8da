"""Demand flows in by itself: the daemon recovers kept pushes on start, pulls seller orders on
start and at once after an ORDER_* push, and the new sales flow into a recompute."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from stockwatch.adapters.alibaba1688.simulator.server import running_simulator
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.adapters.order_import import OrderPull
from stockwatch.config.settings import load_config
from stockwatch.entrypoints.daemon import Daemon
from stockwatch.wiring.compose import build_daemon, token_store
from tests.e2e.daemon_setup import DUCK_OFFER, shop_catalogue, write_shop
from tests.e2e.test_daemon import _run_with


def test_order_pushes_pull_orders_early_and_the_sales_reach_the_levels(tmp_path: Path) -> None:
    with running_simulator(shop_catalogue(80, 500), qps=None) as sim:
        # Sold while the daemon was down; 1688 could not deliver the pushes and kept them.
        early = sim.admin("order", offer_id=DUCK_OFFER, quantity=3)["order_id"]
        sim.admin("pay", order_id=early)
        kept = set(sim.stats()["push"]["kept"])
        assert kept
        config = write_shop(
            tmp_path,
            interval=3600,
            gateway=sim.base_url,
            extra='[daemon.orders]\nevery = "1h"\ncompensate_every = "1h"\n'
            "[thresholds]\nmin_history_days = 1\n",
        )
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace('[items."RUBBER-DUCK"]\nt1 = 50\nt2 = 30\nt3 = 10\n', ""))
        cfg = load_config(config, env={})
        token_store(cfg).save(sim.mint_token())
        tomorrow = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)

        async def main() -> None:
            # Levels for tomorrow, so today's sales are in their history window.
            parts = build_daemon(cfg, http_port=0, as_of=tomorrow)
            assert isinstance(parts.store, SqlStore) and parts.orders is not None
            store = parts.store
            pulls: asyncio.Queue[OrderPull] = asyncio.Queue()
            pull = parts.orders.pull

            async def pull_and_tell(now: datetime) -> OrderPull:
                result = await pull(now)
                pulls.put_nowait(result)
                return result

            parts.orders.pull = pull_and_tell  # type: ignore[method-assign]
            daemon = Daemon(parts)

            def velocity() -> float | None:
                current = SqlThresholdStore(store.engine).current(["RUBBER-DUCK"])
                row = current.get("RUBBER-DUCK")
                if row is None or row.active is None:
                    return None
                return row.active.levels.basis.input("velocity7")

            async def counted() -> OrderPull:
                while True:  # pulls that found nothing new (e.g. after kept pushes) are skipped
                    result = await pulls.get()
                    if result.added:
                        return result

            async def scenario(url: str) -> None:
                first = await counted()  # on start, from the cursor-less first window
                assert first.keys == {"RUBBER-DUCK"}
                assert velocity() == 3 / 7
                recovered = {m.msg_id for m in store.push_messages()}
                assert {str(k) for k in kept} <= recovered  # the compensation API, on start
                # From now on 1688 delivers pushes to the daemon.
                sim.admin("push_settings", callback_url=f"{url}/1688/push")
                later = sim.admin("order", offer_id=DUCK_OFFER, quantity=4)["order_id"]
                sim.admin("pay", order_id=later)
                # The scheduled pull is an hour away: only the ORDER_* push can bring this one.
                second = await asyncio.wait_for(counted(), 20)
                assert second.added == 1
                assert velocity() == 7 / 7

            await _run_with(daemon, scenario, timeout=40)
            store.engine.dispose()

        asyncio.run(main())
