"""/backtest and the review's advice on /review, served by the real app over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey, Reading, ReadingSource
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.ports import AlertEvent
from stockwatch.service.status import status_report
from stockwatch.wiring.backtest import load_replay
from stockwatch.wiring.compose import build_daemon, open_database
from tests.e2e.backtest_shop import write_backtest_shop
from tests.servers import serve

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 2026-11-24 00:00 in Shanghai
SILENT = tuple(date(2026, 11, d) for d in (18, 19, 20, 21, 22))


def _event(key: str, kind: str, tier: str, at: datetime) -> AlertEvent:
    return AlertEvent(f"{key}|{kind}|{at}", ItemKey(key), kind, tier, "OK", at, 1)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    config = write_backtest_shop(tmp_path, b_silent=SILENT)
    (tmp_path / "stock.csv").write_text("sku,on_hand\nA,0\nB,0\n", encoding="utf-8")
    parts = build_daemon(load_config(config), http_port=None, clock=lambda: NOW)
    store = parts.store
    # A's shelf was empty on 15 November (a reading says 0); its alert went T2 → OUT.
    t2_at = datetime(2026, 11, 14, 2, tzinfo=UTC)
    store.add_readings(
        [Reading(ItemKey("A"), t2_at + timedelta(days=1), ReadingSource.POLL, 0)], NOW
    )
    with store.transaction() as tx:
        tx.add_event(_event("A", "raised", "T2", t2_at))
        tx.add_event(_event("A", "ack", "T2", t2_at + timedelta(hours=3)))
        tx.add_event(_event("A", "worsened", "OUT", t2_at + timedelta(hours=30)))
        tx.commit()
    # The supplier of A promised 3 days and delivered after 8, 9 and 3 days.
    orders = SqlPurchaseOrderStore(store.engine)
    for n, days in enumerate((8, 9, 3)):
        placed = datetime(2026, 10, 1 + 10 * n, tzinfo=UTC)
        order, _ = orders.add(
            PurchaseOrder(ItemKey("A"), "义乌晨光", 20, placed, placed + timedelta(days=3)), placed
        )
        assert order.id is not None
        orders.receive(order.id, None, placed + timedelta(days=days))
    deps = WebDeps(
        store=store,
        clock=lambda: NOW,
        push_secret=None,
        status=lambda: status_report(store, {}, NOW, timedelta(hours=6)),
        lang="en",
        backtest=parts.backtest,
        review_advice=parts.review_advice,
    )
    with serve(create_app(deps)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c
    store.engine.dispose()


def test_backtest_page_shows_the_grid_frontier_and_item_charts(client: httpx.Client) -> None:
    html = client.get("/backtest").text
    assert "Trade-off" in html and 'src="/static/echarts.min.js"' in html
    data = client.get("/api/backtest").json()
    assert [p["name"] for p in data["policies"]][:2] == ["in force", "P1"]
    assert len(data["policies"]) == 10 and data["frontier"]
    assert {c["sku"] for c in data["charts"]} == {"A", "B"}
    one = client.get("/api/backtest", params={"service_level": "0.99"}).json()
    assert [p["settings"] for p in one["policies"]] == ["-", "service_level=0.99"]
    assert client.get("/api/backtest", params={"service_level": "2"}).status_code == 400
    assert client.get("/static/echarts.min.js").status_code == 200
    assert "回测" in client.get("/backtest", params={"lang": "zh-CN"}).text


def test_review_page_finds_stockouts_in_readings_and_sales_and_gives_tier_figures(
    client: httpx.Client,
) -> None:
    html = client.get("/review", params={"since": "2026-11-10"}).text
    assert 'id="found-stockouts"' in html
    found = html[html.index('id="found-stockouts"') :]
    assert "2026-11-15" in found and "stock 0" in found  # A: the reading said 0
    assert "2026-11-18" in found and "2026-11-22" in found and "sales stopped" in found  # B
    tiers = html[
        html.index('id="tier-stats"') : html.index("</table>", html.index('id="tier-stats"'))
    ]
    assert "30.0 h" in tiers  # T2 came 30 h before the stockout
    assert "3.0 h" in tiers  # and was acknowledged after 3 h
    # A's levels with the learned 6.7 days instead of 3 avoid some of its stockout days.
    assert (
        "Supplier 义乌晨光 is late on 67% of orders: its learned lead time is 6.7 days, not 3.0; "
        "with the learned lead time in the levels of its 1 item(s), a backtest expects -27 % "
        "stockout days for +1.7 days of stock" in html
    )


def test_learned_lead_times_come_from_the_suppliers_received_orders(tmp_path: Path) -> None:
    config = load_config(write_backtest_shop(tmp_path))
    engine = open_database(config)
    orders = SqlPurchaseOrderStore(engine)
    placed = datetime(2026, 10, 1, tzinfo=UTC)
    for sku, days in (("A", 8), ("A", 9), ("X", 3)):  # X: another item of the same supplier
        order, _ = orders.add(PurchaseOrder(ItemKey(sku), "义乌晨光", 5, placed, placed), placed)
        assert order.id is not None
        orders.receive(order.id, None, placed + timedelta(days=days))
    data, _ = load_replay(config, engine)
    engine.dispose()
    samples = dict(zip(data.names, data.lead_samples, strict=True))
    assert sorted(samples["A"]) == [3.0, 8.0, 9.0] and list(samples["B"]) == []
