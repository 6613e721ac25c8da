"""The replenishment loop end to end: the daemon (``stockwatch run``'s ``Daemon``) polls the
1688 simulator on a clock the test moves by days. A T2 alert opens a task; the task is marked
ordered over the API; the supplier is late: a late-supplier notice, then OUT on an empty shelf
with the goods on the way (the notice says when they are due), which the merchant
acknowledges; the goods are received, but the shelf sold out while they were late and they do
not clear T1, so the task goes back on the purchase list and the acknowledged alert reminds the
merchant again; a second order from it, received, closes it; after three received orders
``explain`` shows the learned lead time."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from stockwatch.adapters.alibaba1688.simulator.server import running_simulator
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import GOODS_IN, ItemKey
from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.compose import open_store, token_store
from tests.e2e.daemon_setup import (
    DUCK_OFFER,
    TASK_ROUTES,
    OffsetClock,
    daemon_running,
    shop_catalogue,
    until,
    write_shop,
)

DUCK = ItemKey("RUBBER-DUCK")
DAY = timedelta(days=1)


def test_order_late_supplier_out_with_goods_on_the_way_receipt_and_learned_lead_time(
    tmp_path: Path,
) -> None:
    with running_simulator(shop_catalogue(25, 500), qps=None) as sim:
        config = write_shop(tmp_path, interval=0.1, gateway=sim.base_url, extra=TASK_ROUTES)
        cfg = load_config(config)
        open_store(cfg).engine.dispose()  # migrated before the daemon starts
        token_store(cfg).save(sim.mint_token())
        asyncio.run(_scenario(cfg, sim))
        runner = CliRunner()
        explained = runner.invoke(app, ["explain", str(DUCK), "-c", str(config), "-f", "json"])
        assert explained.exit_code == 0, explained.output
        inputs = json.loads(explained.output)["inputs"]
        assert inputs["lead_orders"] == 3.0
        assert inputs["lead_observed"] == pytest.approx(5.0, abs=0.01)
        shown = runner.invoke(app, ["explain", str(DUCK), "-c", str(config), "--lang", "en"])
        assert "Lead time learned from 3 received orders (this item's orders)" in shown.output
        assert "observed 5.0 ± 1.0 d" in shown.output


async def _scenario(cfg, sim) -> None:  # type: ignore[no-untyped-def]
    clock = OffsetClock()
    async with daemon_running(cfg, clock) as (web, store):
        await _loop(web, store, clock, sim)


async def _loop(web: httpx.AsyncClient, store: SqlStore, clock: OffsetClock, sim) -> None:  # type: ignore[no-untyped-def]
    async def tasks() -> list[dict[str, object]]:
        return (await web.get("/api/tasks")).json()  # type: ignore[no-any-return]

    # 25 on the shelf ≤ T2 30: the alert opens a replenishment task.
    deadline = asyncio.get_running_loop().time() + 20
    while not (open_tasks := await tasks()):
        assert asyncio.get_running_loop().time() < deadline, "no task opened"
        await asyncio.sleep(0.05)
    [duck_task] = open_tasks
    due = clock() + 2 * DAY
    placed = await web.post(
        f"/api/tasks/{duck_task['id']}/order",
        json={"supplier": "义乌鸭厂", "expected_at": due.isoformat()},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["quantity"] == duck_task["quantity"] > 0
    # The supplier is late: two days past the expected day, and the shelf is empty.
    clock.offset += 4 * DAY
    sim.set_stock(DUCK_OFFER, 0)

    def late_and_out() -> tuple[object, object] | None:
        late = store.events(DUCK, ["late_supplier"])
        out = [e for e in store.events(DUCK, ["raised", "worsened"]) if e.tier == "OUT"]
        return (late, out) if late and out else None

    late, out = await until(late_and_out, "the late notice and OUT")
    [late_event] = late
    assert late_event.payload["late"]["supplier"] == "义乌鸭厂"
    assert late_event.payload["late"]["escalated"] is True
    assert late_event.payload["late"]["days_late"] >= 2
    [out_event] = out
    assert out_event.payload["shelf"] == 0
    assert out_event.payload["on_order"] == order["quantity"]
    assert out_event.payload["due"] == due.isoformat()
    assert out_event.available == order["quantity"]  # the position counts the goods on the way
    # The merchant acknowledges the OUT alert: the goods are on the way.
    acked = await web.post(f"/api/alerts/{DUCK}/ack")
    assert acked.status_code == 200 and acked.json()["acked"], acked.text
    await until(
        lambda: store.alert_states()[DUCK].goods_seen_at,
        "the acknowledgement rests on the goods on order",
    )
    # The goods arrive, four days from order to goods; the shelf sold out while they were late,
    # so 32 do not clear T1 50 and the task goes back on the purchase list.
    received_at = clock()
    received = await web.post(f"/api/orders/{order['id']}/receive")
    assert received.json()["status"] == "received"
    assert received.json()["lead_time_days"] == pytest.approx(4.0, abs=0.01)
    assert [t["id"] for t in await tasks()] == [duck_task["id"]]
    sim.set_stock(DUCK_OFFER, order["quantity"])
    await until(
        lambda: store.readings(DUCK, limit=1)[0].reading.on_hand == order["quantity"] or None,
        "the daemon reads the goods on the shelf",
    )

    # They are in and the item is still short: once the grace for the stock to show them and
    # a day since the OUT notice have passed, the acknowledgement lapses with a reminder
    # (core.alerting rule 4b). (A poll racing the first clock jump can add a reminder of OUT
    # before the acknowledgement: only those after the receipt count.)
    def reminded() -> list[Any] | None:
        return [e for e in store.events(DUCK, ["reminder"]) if e.at > received_at] or None

    assert reminded() is None and store.alert_states()[DUCK].acked
    clock.offset += DAY
    reminder = (await until(reminded, "a reminder after the goods came in"))[-1]
    # 32 is above T2 30, but not by the 10 % margin a recovery from OUT needs: still T2.
    assert (reminder.tier, reminder.available) == ("T2", order["quantity"])
    assert reminder.detail == GOODS_IN  # the message says the goods came in short
    assert not store.alert_states()[DUCK].acked
    # A second order from the same task, five days; receiving it closes the task.
    again = await web.post(f"/api/tasks/{duck_task['id']}/order", json={"quantity": 40})
    assert again.status_code == 201, again.text
    clock.offset += 5 * DAY
    got = await web.post(f"/api/orders/{again.json()['id']}/receive")
    assert got.json()["lead_time_days"] == pytest.approx(5.0, abs=0.01)
    assert [t["id"] for t in await tasks()] == []
    closed = (await web.get("/api/tasks", params={"status": "closed"})).json()
    assert [(t["id"], t["close_reason"]) for t in closed] == [(duck_task["id"], "received")]
    # A third order, six days: enough to learn the item's lead time.
    more = await web.post(
        "/api/orders", json={"item": str(DUCK), "quantity": 40, "supplier": "义乌鸭厂"}
    )
    clock.offset += 6 * DAY
    got = await web.post(f"/api/orders/{more.json()['id']}/receive")
    assert got.json()["lead_time_days"] == pytest.approx(6.0, abs=0.01)


def test_goods_booked_in_before_the_stock_shows_them_raise_no_alert_and_no_task(
    tmp_path: Path,
) -> None:
    # Found by a new user: the order lifted the position and ended the alert; the receipt,
    # booked before the shop's stock showed the goods, took them out of the position (no
    # longer on order, not yet on the shelf): a new T2 alert and a new task asked to order the
    # same goods again.
    with running_simulator(shop_catalogue(25, 500), qps=None) as sim:
        config = write_shop(tmp_path, interval=0.1, gateway=sim.base_url, extra=TASK_ROUTES)
        cfg = load_config(config)
        open_store(cfg).engine.dispose()
        token_store(cfg).save(sim.mint_token())

        async def scenario() -> None:
            clock = OffsetClock()
            async with daemon_running(cfg, clock) as (web, store):
                [raised] = await until(lambda: store.events(DUCK, ["raised"]), "the T2 alert")
                assert raised.tier == "T2"
                placed = await web.post("/api/orders", json={"item": str(DUCK), "quantity": 100})
                assert placed.json()["alert_acknowledged"] is True
                await until(lambda: store.alert_states()[DUCK].phase.value == "ok", "over")
                booked_at = clock()
                received = await web.post(f"/api/orders/{placed.json()['id']}/receive")
                assert received.json()["status"] == "received"

                def read_since(n: int) -> bool:
                    after = [r for r in store.readings(DUCK, limit=20) if r.received_at > booked_at]
                    return len(after) >= n

                # The shelf still reads 25 (the shop has not counted the goods in yet).
                await until(lambda: read_since(3), "three polls after the receipt")
                assert [e.tier for e in store.events(DUCK, ["raised"])] == ["T2"]  # no new one
                assert (await web.get("/api/tasks")).json() == []
                assert store.alert_states()[DUCK].last_available == 125  # 25 + 100 booked in
                # The shop counts them in: the shelf shows them, nothing is counted twice.
                sim.set_stock(DUCK_OFFER, 125)
                await until(
                    lambda: (
                        store.alert_states()[DUCK].last_available == 125
                        and store.readings(DUCK, limit=1)[0].reading.on_hand == 125
                    ),
                    "the goods on the shelf",
                )
                # Once shown, a sale is a sale: selling 100 of them raises the alert again.
                sim.set_stock(DUCK_OFFER, 25)
                await until(lambda: len(store.events(DUCK, ["raised"])) == 2, "a new alert")

        asyncio.run(scenario())
