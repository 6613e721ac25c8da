"""1688 seller orders: the client walks every page; `sales import-orders` counts each line once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.alibaba1688.errors import GatewayError
from stockwatch.adapters.alibaba1688.orders import OrderLine, TooManyOrders, seller_order_lines
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle
from stockwatch.adapters.alibaba1688.token_file import JsonTokenStore
from stockwatch.adapters.db.sales import SqlSalesStore
from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.notify import open_engine

runner = CliRunner()
SHANGHAI = ZoneInfo("Asia/Shanghai")


class StaticTokens:
    def __init__(self, token: str) -> None:
        self.value = token

    async def token(self) -> str:
        return self.value

    async def refresh_after_rejection(self, rejected: str) -> str:
        return self.value


def multi_spec(sim: SimulatorHandle) -> tuple[int, str, str]:
    """Return an offer with two specs or more: (offer id, first spec, second spec)."""
    for offer_id, offer in sorted(sim.catalogue().items()):
        specs = [s["specId"] for s in offer.get("skuInfos", [])]
        if len(specs) >= 2:
            return offer_id, specs[0], specs[1]
    raise AssertionError("the seeded catalogue has no multi-spec offer")


def read_lines(sim: SimulatorHandle, since: datetime, **kw: int) -> list[OrderLine]:
    async def go() -> list[OrderLine]:
        token = sim.mint_token("seller").access_token
        async with GatewayClient(sim.settings(), StaticTokens(token)) as client:
            return await seller_order_lines(client, since, **kw)

    return asyncio.run(go())


def test_the_reader_walks_every_page_of_orders(simulator: SimulatorHandle) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    offer, spec, _ = multi_spec(simulator)
    placed = [
        simulator.admin("order", offer_id=offer, spec_id=spec, quantity=i + 1)["order_id"]
        for i in range(45)  # three pages of 20
    ]
    lines = read_lines(simulator, since)
    assert sorted(int(line.order_id) for line in lines) == sorted(placed)
    assert sum(line.quantity for line in lines) == sum(range(1, 46))
    assert {line.spec_id for line in lines} == {spec}
    assert all(line.unpaid for line in lines)  # none was paid yet
    assert simulator.stats()["requests"]["alibaba.trade.getSellerOrderList"] == 3
    # Orders created before the window are not returned.
    assert read_lines(simulator, datetime.now(UTC) + timedelta(minutes=1)) == []


def test_a_window_with_too_many_orders_asks_for_a_shorter_one(
    simulator: SimulatorHandle,
) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    offer, spec, _ = multi_spec(simulator)
    for _ in range(12):
        simulator.admin("order", offer_id=offer, spec_id=spec, quantity=1)
    with pytest.raises(TooManyOrders, match="12 orders") as caught:
        read_lines(simulator, since, max_orders=10)
    assert "--since/--until" in caught.value.hint
    assert len(read_lines(simulator, since, max_orders=12)) == 12


def test_import_orders_counts_paid_lines_once_and_takes_back_closed_ones(
    simulator: SimulatorHandle, tmp_path: Path
) -> None:
    offer, spec_a, spec_b = multi_spec(simulator)
    (tmp_path / "items.csv").write_text(
        "sku,title,offer_id,spec_id\n"
        f"TIGER-MUG-RED,红色老虎杯,{offer},{spec_a}\n"
        f"TIGER-MUG-BLUE,蓝色老虎杯,{offer},{spec_b}\n",
        encoding="utf-8",
    )
    config = tmp_path / "stockwatch.toml"
    config.write_text(
        f"""[general]
data_dir = "data"
[catalog]
items = "items.csv"
[gateway]
base_url = "{simulator.base_url}"
app_key = "{simulator.app_key}"
app_secret = "{simulator.app_secret}"
""",
        encoding="utf-8",
    )
    JsonTokenStore(tmp_path / "data" / "1688-tokens.json").save(simulator.mint_token("seller"))
    red = [simulator.admin("order", offer_id=offer, spec_id=spec_a, quantity=q) for q in (3, 4)]
    blue = simulator.admin("order", offer_id=offer, spec_id=spec_b, quantity=5)
    simulator.admin("order", offer_id=offer, spec_id=spec_b, quantity=50)  # never paid
    for order in (*red, blue):
        simulator.admin("pay", order_id=order["order_id"])
    today = datetime.now(SHANGHAI).date()
    command = ["sales", "import-orders", "-c", str(config), "--lang", "en"]
    command += ["--since", (today - timedelta(days=1)).isoformat()]

    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    assert "3 lines counted" in first.output and "1 unpaid" in first.output
    assert totals(tmp_path, today) == {"TIGER-MUG-RED": 7, "TIGER-MUG-BLUE": 5}

    again = runner.invoke(app, command)  # re-running adds nothing
    assert again.exit_code == 0 and "0 lines counted" in again.output
    assert totals(tmp_path, today) == {"TIGER-MUG-RED": 7, "TIGER-MUG-BLUE": 5}

    simulator.admin("close", order_id=red[0]["order_id"])  # refunded after it was counted
    closed = runner.invoke(app, command)
    assert closed.exit_code == 0 and "1 taken back" in closed.output
    assert totals(tmp_path, today) == {"TIGER-MUG-RED": 4, "TIGER-MUG-BLUE": 5}
    assert runner.invoke(app, command).exit_code == 0
    assert totals(tmp_path, today) == {"TIGER-MUG-RED": 4, "TIGER-MUG-BLUE": 5}


def totals(tmp_path: Path, day: date) -> dict[str, int]:
    engine = open_engine(f"sqlite+pysqlite:///{tmp_path / 'data' / 'stockwatch.sqlite3'}")
    try:
        sales = SqlSalesStore(engine)
        end = date.fromordinal(day.toordinal() + 1)
        return {sku: sum(v) for sku, v in sales.daily(sales.skus(), end, 3).items()}
    finally:
        engine.dispose()


def test_a_buyer_token_is_refused_with_the_gateways_words(simulator: SimulatorHandle) -> None:
    async def go() -> None:
        token = simulator.mint_token("buyer").access_token
        async with GatewayClient(simulator.settings(), StaticTokens(token)) as client:
            await seller_order_lines(client, datetime.now(UTC) - timedelta(hours=1))

    with pytest.raises(GatewayError, match="不是自己的订单"):
        asyncio.run(go())
