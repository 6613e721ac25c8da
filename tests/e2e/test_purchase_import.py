"""The merchant's 1688 purchase orders flow in by themselves: the daemon (``stockwatch run``'s
``Daemon``) polls the simulator and pulls the buyer view. A T2 alert opens a task; the merchant
buys on 1688; the import puts the order on order (the task is ordered); the supplier is late (a
late-supplier notice); it delivers part, then the rest: the order is received, the task closes,
and after three received purchases ``explain`` shows the learned lead time. A cancelled
purchase leaves the position."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey
from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.compose import open_store, token_store
from tests.e2e.daemon_setup import (
    DUCK_OFFER,
    LAMP_OFFER,
    LAMP_SKU,
    LAMP_SPEC,
    TASK_ROUTES,
    OffsetClock,
    daemon_running,
    shop_catalogue,
    until,
    write_shop,
)

DUCK = ItemKey("RUBBER-DUCK")
LAMP = ItemKey("GLOW-LAMP")
DAY = timedelta(days=1)
ITEMS = (
    "sku,title,offer_id,sku_id,lead_time_days\n"
    "RUBBER-DUCK,黄色橡皮鸭,610000000001,,2\n"
    "GLOW-LAMP,夜光灯,610000000002,5104790281451,2\n"
)
PULLS = '[daemon.purchases]\nevery = "0.2s"\n'


def test_a_1688_purchase_is_imported_late_delivered_in_parts_and_teaches_the_lead_time(
    tmp_path: Path,
) -> None:
    with running_simulator(shop_catalogue(25, 500), qps=None) as sim:
        config = write_shop(tmp_path, interval=0.1, gateway=sim.base_url, extra=TASK_ROUTES + PULLS)
        (tmp_path / "items.csv").write_text(ITEMS, encoding="utf-8")
        cfg = load_config(config)
        open_store(cfg).engine.dispose()  # migrated before the daemon starts
        token_store(cfg).save(sim.mint_token())
        asyncio.run(_run(cfg, sim))
        runner = CliRunner()
        explained = runner.invoke(app, ["explain", str(DUCK), "-c", str(config), "-f", "json"])
        assert explained.exit_code == 0, explained.output
        inputs = json.loads(explained.output)["inputs"]
        assert inputs["lead_orders"] == 3.0
        assert inputs["lead_observed"] == pytest.approx(5.0, abs=0.01)  # (4 + 5 + 6) / 3
        shown = runner.invoke(app, ["explain", str(DUCK), "-c", str(config), "--lang", "en"])
        assert "Lead time learned from 3 received orders (this item's orders)" in shown.output


async def _run(cfg: Any, sim: SimulatorHandle) -> None:
    clock = OffsetClock()
    async with daemon_running(cfg, clock) as (web, store):
        await _scenario(web, store, clock, sim)


def _later(clock: OffsetClock, sim: SimulatorHandle, days: float) -> None:
    """Move the daemon's clock and the simulated 1688's together."""
    clock.offset += days * DAY
    sim.admin("advance", hours=24 * days)


async def _scenario(web: httpx.AsyncClient, store: SqlStore, clock: OffsetClock, sim: Any) -> None:
    async def get(path: str, **params: str) -> Any:
        return (await web.get(path, params=params)).json()

    base = str(web.base_url).rstrip("/")

    def orders(status: str = "all") -> list[dict[str, Any]]:
        return httpx.get(f"{base}/api/orders", params={"status": status}).json()  # type: ignore[no-any-return]

    # 25 on the shelf ≤ T2 30: the alert opens a replenishment task.
    [duck_task] = await until(lambda: httpx.get(f"{base}/api/tasks").json(), "a task")
    # The merchant buys 60 on 1688 (paid at once): the daemon imports it and takes the task.
    bought = sim.admin("purchase", offer_id=DUCK_OFFER, quantity=60)["order_id"]
    [order] = await until(orders, "the imported purchase order")
    assert order["external_ref"] == f"1688:{bought}:0" and order["source"] == "1688"
    assert (order["item"], order["quantity"], order["status"]) == (str(DUCK), 60, "ordered")
    assert order["supplier"] == "yiwu_duck_factory"
    assert order["task_id"] == duck_task["id"]
    # Bought on 1688 itself, it acts on the alert as an order placed here does: acknowledged,
    # resting on the goods on order, by "1688" (service.alerts.acknowledge_for_order).
    [ack] = await until(lambda: store.events(DUCK, ["ack"]), "the alert acknowledged")
    assert (ack.actor, ack.payload["order"], ack.detail) == (
        "1688",
        order["id"],
        f"order #{order['id']}",
    )
    assert await get("/api/tasks") == []  # ordered: off the draft purchase list
    # The declared lead time is 2 days; four days later nothing has come and the shelf is empty.
    _later(clock, sim, 4)
    sim.set_stock(DUCK_OFFER, 0)
    [late] = await until(lambda: store.events(DUCK, ["late_supplier"]), "the late notice")
    assert late.payload["late"]["order"] == f"1688:{bought}:0"
    assert late.payload["late"]["supplier"] == "yiwu_duck_factory"
    assert late.payload["late"]["days_late"] >= 2
    # Part of it arrives: 25 of 60 signed for; 35 stay on order in the position.
    sim.admin("purchase_ship", order_id=bought, quantities={"0": 25})
    sim.admin("purchase_deliver", order_id=bought)
    [part] = await until(lambda: [o for o in orders() if o["status"] == "partial"], "partial")
    assert (part["received_qty"], part["open_quantity"]) == (25, 35)
    sim.set_stock(DUCK_OFFER, 25)
    # The rest: received, four days after payment; the task closes.
    sim.admin("purchase_ship", order_id=bought)
    sim.admin("purchase_deliver", order_id=bought)
    [done] = await until(lambda: [o for o in orders() if o["status"] == "received"], "received")
    assert done["lead_time_days"] == pytest.approx(4.0, abs=0.01)
    sim.set_stock(DUCK_OFFER, 200)
    closed = await get("/api/tasks", status="closed")
    assert [(t["id"], t["close_reason"]) for t in closed] == [(duck_task["id"], "received")]
    # A cancelled purchase never counts as on order.
    dropped = sim.admin("purchase", offer_id=DUCK_OFFER, quantity=40)["order_id"]
    await until(
        lambda: [o for o in orders("open") if o["external_ref"].startswith(f"1688:{dropped}")],
        "import",
    )
    sim.admin("purchase_cancel", order_id=dropped)
    await until(lambda: [o for o in orders() if o["status"] == "cancelled"], "the cancellation")
    assert await asyncio.to_thread(orders, "open") == []
    # Two more purchases, five and six days each: enough to learn the item's lead time.
    for days in (5, 6):
        more = sim.admin("purchase", offer_id=DUCK_OFFER, quantity=40)["order_id"]
        ref = f"1688:{more}:0"
        await until(lambda: [o for o in orders("open") if o["external_ref"] == ref], "import")  # noqa: B023
        _later(clock, sim, days)
        sim.admin("purchase_ship", order_id=more)
        sim.admin("purchase_deliver", order_id=more)
        await until(
            lambda: [o for o in orders() if o["external_ref"] == ref and o["status"] == "received"],  # noqa: B023
            "received",
        )


def test_an_imported_purchase_whose_acknowledgement_failed_is_acknowledged_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The import stores the order and then acts on the alert, in two transactions. Before,
    # a daemon stopped (or failing) between the two lost the acknowledgement for good: the
    # next pull saw the order unchanged, and an empty shelf (OUT with the goods on the way)
    # was reminded of until they came. Now the order keeps it due: the next pull settles it,
    # and so does the next start, even with the 1688 pull turned off.
    with running_simulator(shop_catalogue(0, 500), qps=None) as sim:
        config = write_shop(tmp_path, interval=0.1, gateway=sim.base_url, extra=TASK_ROUTES + PULLS)
        (tmp_path / "items.csv").write_text(ITEMS, encoding="utf-8")
        cfg = load_config(config)
        open_store(cfg).engine.dispose()
        token_store(cfg).save(sim.mint_token())

        def broken(*args: object, **kw: object) -> None:
            raise RuntimeError("the process stops here")

        async def failing_then_next_pull() -> None:
            async with daemon_running(cfg, OffsetClock()) as (web, store):
                await until(
                    lambda: httpx.get(f"{str(web.base_url).rstrip('/')}/api/tasks").json(), "a task"
                )
                monkeypatch.setattr("stockwatch.service.alerts.acknowledge", broken)
                sim.admin("purchase", offer_id=DUCK_OFFER, quantity=60)
                await until(lambda: "the process stops here" in caplog.text, "the failure")
                assert store.events(DUCK, ["ack"]) == []
                monkeypatch.undo()
                [ack] = await until(lambda: store.events(DUCK, ["ack"]), "the next pull's ack")
                assert ack.actor == "1688"

        asyncio.run(failing_then_next_pull())

        caplog.clear()
        sim.set_stock(LAMP_OFFER, 0, LAMP_SPEC)  # GLOW-LAMP's shelf empty too

        async def failing_then_restart() -> None:
            async with daemon_running(cfg, OffsetClock()) as (web, store):
                await until(
                    lambda: [
                        t
                        for t in httpx.get(f"{str(web.base_url).rstrip('/')}/api/tasks").json()
                        if t["item"] == str(LAMP)
                    ],
                    "the lamp's task",
                )
                monkeypatch.setattr("stockwatch.service.alerts.acknowledge", broken)
                sim.admin("purchase", offer_id=LAMP_OFFER, sku_id=LAMP_SKU, quantity=300)
                await until(lambda: "the process stops here" in caplog.text, "the failure")
                assert store.events(LAMP, ["ack"]) == []
            monkeypatch.undo()
            off = TASK_ROUTES + "[daemon.purchases]\nenabled = false\n"
            no_pulls = load_config(write_shop(tmp_path, 0.1, off, sim.base_url))
            (tmp_path / "items.csv").write_text(ITEMS, encoding="utf-8")
            async with daemon_running(no_pulls, OffsetClock()) as (_, store):
                [ack] = await until(lambda: store.events(LAMP, ["ack"]), "the ack on start")
                assert ack.actor == "1688" and ack.detail.startswith("order #")

        asyncio.run(failing_then_restart())
