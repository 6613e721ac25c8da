"""The dashboard and its JSON API through ``create_app`` served by uvicorn on loopback.

The shop is seeded by the real services: the stock file is polled by ``poll_items``, the
evaluator raises the alerts and fills the outbox, the delivery worker sends to a task channel
and to a WeCom receiver whose key was revoked (a dead letter), and ``recompute`` writes two
threshold versions.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tasks import SqlTaskStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.adapters.notify.registry import build_channel
from stockwatch.adapters.stock_file import FileStockSource
from stockwatch.core.model import (
    AlertPolicy,
    Basis,
    DebounceRule,
    Item,
    ItemKey,
    OfferMapping,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)
from stockwatch.core.purchasing import UnmatchedLine
from stockwatch.devtools.receivers import FakeWeCom
from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.ports import ComputedLevels, OutboxStatus
from stockwatch.service.polling import Evaluator, poll_items
from stockwatch.service.recompute import recompute
from stockwatch.service.routing import Route, RouterSettings, RouteTable
from stockwatch.service.status import status_report
from stockwatch.wiring.notify import build_worker, close_channels
from tests.fakes import InMemoryStore
from tests.servers import serve

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOSTILE = '<script>alert("pwn")</script>龙茶杯'
DRAGON, DUCK, LAMP, GLOBE = "TEACUP-DRAGON", "RUBBER-DUCK", "GLOW-LAMP", "SNOW-GLOBE"
ITEMS = [
    Item(DRAGON, title=HOSTILE, supplier="义乌龙窑", offer=OfferMapping(DRAGON, "610000000001")),
    Item(DUCK, title="黄色橡皮鸭", supplier="汕头玩具厂", lead_time_days=1.0),
    Item(LAMP, title="夜光灯", supplier="汕头玩具厂"),
    Item(GLOBE, title="水晶球", supplier="义乌龙窑", lead_time_days=0.01),
]
VELOCITY = {DRAGON: 5.0, DUCK: 2.0, LAMP: 1.0, GLOBE: 4.0}
# available per poll, one hour apart: the dragon runs out, the globe dips to T2, the duck
# falls to T2 last, the lamp never alerts.
STOCK = [
    {DRAGON: 40, DUCK: 100, LAMP: 200, GLOBE: 25},
    {DRAGON: 5, DUCK: 100, LAMP: 200, GLOBE: 20},
    {DRAGON: 0, DUCK: 20, LAMP: 200, GLOBE: 25},
]
NO_DEBOUNCE = AlertPolicy(debounce=tuple((t, DebounceRule()) for t in Tier if t is not Tier.OK))


def levels_for(key: ItemKey, item: Item | None) -> TierLevels:
    return TierLevels(50, 30, 10, velocity=VELOCITY[key.sku], basis=Basis("fixed"))


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()


def _write_stock(path: Path, at: datetime, stock: dict[str, int]) -> None:
    lines = ["sku,on_hand,observed_at"] + [f"{k},{v},{at.isoformat()}" for k, v in stock.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _computer(levels: dict[str, TierLevels]) -> object:
    def compute(keys: Sequence[str], as_of: date) -> list[ComputedLevels]:
        return [ComputedLevels(k, levels[k]) for k in keys if k in levels]

    return compute


async def _seed(engine: Engine, store: SqlStore, clock: Clock, tmp: Path) -> None:
    store.sync_items(ITEMS, {}, T0)
    wecom = FakeWeCom(keys={"live-key"}, clock=clock.seconds).start()
    channels = {
        "task": build_channel("task", "task://", engine=engine, clock=clock),
        "wecom": build_channel("wecom", f"wecom://revoked-key@/?endpoint={wecom.url}", clock=clock),
    }
    try:
        router = RouteTable(RouterSettings((Route("shop", ("task", "wecom")),)))
        evaluator = Evaluator(store, router, NO_DEBOUNCE, levels_for)
        source = FileStockSource(tmp / "stock.csv")
        worker = build_worker(engine, channels, clock=clock, seed=1)
        for hour, stock in enumerate(STOCK):
            clock.now = T0 + timedelta(hours=hour)
            _write_stock(tmp / "stock.csv", clock.now, stock)
            await poll_items("default", ITEMS, source, evaluator, clock)
            await worker.run_once()
    finally:
        await close_channels(channels)
        wecom.stop()
    # Two threshold versions for the globe through the real recompute service.
    thresholds = SqlThresholdStore(engine)
    first = TierLevels(50, 30, 10, 4.0, Basis("fixed", (("velocity", 4.0),)))
    second = TierLevels(60, 36, 12, 4.8, Basis("fixed", (("velocity", 4.8),), notes=("旺季",)))
    for n, levels in enumerate((first, second)):
        compute = _computer({GLOBE: levels})
        recompute([GLOBE], T0.date(), compute, thresholds, T0 + timedelta(hours=n))  # type: ignore[arg-type]


@pytest.fixture
def shop(sqlite_engine: Engine, tmp_path: Path) -> tuple[SqlStore, Clock]:
    store = SqlStore(sqlite_engine)
    clock = Clock()
    asyncio.run(_seed(sqlite_engine, store, clock, tmp_path))
    clock.now = T0 + timedelta(hours=3)
    return store, clock


def _deps(store: SqlStore, clock: Clock, token: str | None = None) -> WebDeps:
    return WebDeps(
        store=store,
        clock=clock,
        push_secret=None,
        status=lambda: status_report(
            store, {"default": clock() + timedelta(hours=1)}, clock(), timedelta(hours=6)
        ),
        levels_for=levels_for,
        web_token=token,
    )


@pytest.fixture
def client(shop: tuple[SqlStore, Clock]) -> Iterator[httpx.Client]:
    with serve(create_app(_deps(*shop))) as url, httpx.Client(base_url=url) as c:
        yield c


def _rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-item="([^"]+)" data-tier="([^"]+)">', html)


def test_the_overview_lists_items_worst_first_with_counts_and_backlog(
    client: httpx.Client,
) -> None:
    html = client.get("/").text
    # OUT first; of the two T2 items the globe has fewer days of cover (25/4 < 20/2).
    assert _rows(html) == [(DRAGON, "OUT"), (GLOBE, "T2"), (DUCK, "T2"), (LAMP, "OK")]
    assert '<b class="count-T2">2</b>' in html and '<b class="count-OUT">1</b>' in html
    assert "发送失败 " in html and "未完成补货任务 3 个" in html
    assert "库存总览" in html and 'lang="zh-CN"' in html
    # The last poll (10:00 UTC) is shown in the shop's time zone.
    assert ">2026-11-20 18:00</td>" in html and "Asia/Shanghai" in html


def test_the_overview_api_gives_the_same_rows_with_levels_and_cover(
    client: httpx.Client,
) -> None:
    rows = client.get("/api/items").json()
    assert [r["item"] for r in rows] == [DRAGON, GLOBE, DUCK, LAMP]
    globe = rows[1]
    # The recompute's active version wins over the configured levels.
    assert globe["levels"] == {"T1": 60, "T2": 36, "T3": 12}
    assert (globe["available"], globe["on_hand"], globe["phase"]) == (25, 25, "firing")
    assert globe["days_of_cover"] == round(25 / 4.8, 2)
    lamp = rows[3]
    assert (lamp["tier"], lamp["levels"], lamp["days_of_cover"]) == (
        "OK",
        {"T1": 50, "T2": 30, "T3": 10},
        200.0,
    )
    assert rows[0]["task_id"] is not None and lamp["task_id"] is None


def test_every_page_renders_in_both_languages_and_the_choice_is_remembered(
    client: httpx.Client,
) -> None:
    pages = ["/", f"/items/{GLOBE}", "/alerts", "/outbox", "/tasks", "/review"]
    for path in pages:
        zh = client.get(path)
        assert zh.status_code == 200, path
        assert 'lang="zh-CN"' in zh.text and ">English</a>" in zh.text
    english = client.get("/", params={"lang": "en"})
    assert "Stock overview" in english.text and ">中文</a>" in english.text
    assert 'href="/?lang=zh-CN"' in english.text
    for path in pages:  # the cookie keeps English on the next pages
        page = client.get(path)
        assert 'lang="en"' in page.text and "库存总览" not in page.text, path
    assert 'lang="zh-CN"' in client.get("/", params={"lang": "zh-CN"}).text


def test_a_hostile_title_from_1688_is_escaped_everywhere(client: httpx.Client) -> None:
    for path in ("/", f"/items/{DRAGON}", "/tasks"):
        html = client.get(path).text
        assert "<script>" not in html, path
        assert "&lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;龙茶杯" in html, path


def _chart(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_the_item_page_carries_the_stock_line_and_the_levels_as_they_were(
    client: httpx.Client,
) -> None:
    html = client.get(f"/items/{GLOBE}").text
    assert '<div id="stock-chart"' in html and "/static/echarts.min.js" in html
    chart = _chart(html)
    assert [q for _, q in chart["stock"]] == [25, 20, 25]
    # The evaluator used the configured 50/30/10; the recompute then activated 50/30/10 and
    # 60/36/12 one hour apart: the T2 line steps from 30 to 36, it is not today's 36 throughout.
    t2 = [q for _, q in chart["levels"]["T2"]]
    assert t2[0] == 30 and t2[-1] == 36
    assert [a["kind"] for a in chart["alerts"]][:1] == ["raised"]
    assert client.get("/static/echarts.min.js").status_code == 200
    assert "raised" in html  # the alert history


def test_the_item_page_explains_threshold_versions(client: httpx.Client) -> None:
    html = client.get(f"/items/{GLOBE}", params={"lang": "en"}).text
    table = html[html.index('<table id="versions">') :]
    assert "T1: 50 → 60" in table and "because: 旺季" in table
    assert "first computed version" in table
    detail = client.get(f"/api/items/{GLOBE}").json()
    assert [v["version"] for v in detail["threshold_versions"]] == [2, 1]
    assert [r["available"] for r in detail["readings"]] == [25, 20, 25]
    assert detail["events"][-1]["kind"] == "raised"


def test_acknowledge_and_snooze_buttons_change_the_alert(
    client: httpx.Client, shop: tuple[SqlStore, Clock]
) -> None:
    store, clock = shop
    origin = {"Origin": str(client.base_url).rstrip("/")}
    answer = client.post(f"/items/{DRAGON}/ack", headers=origin)
    assert answer.status_code == 303 and answer.headers["location"] == f"/items/{DRAGON}"
    answer = client.post(f"/items/{DRAGON}/snooze", data={"hours": "2"}, headers=origin)
    assert answer.status_code == 303
    state = store.alert_states()[ItemKey(DRAGON)]
    assert state.acked and state.snoozed_until == clock() + timedelta(hours=2)
    kinds = [(e.kind, e.actor) for e in store.events(ItemKey(DRAGON), limit=2)]
    assert kinds == [("snooze", "local"), ("ack", "local")]  # open mode: the local user
    assert client.post(f"/items/{LAMP}/ack", headers=origin).status_code == 404


def test_a_form_post_from_another_site_is_refused(
    client: httpx.Client, shop: tuple[SqlStore, Clock]
) -> None:
    store, _ = shop
    answer = client.post(f"/items/{DRAGON}/ack", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert not store.alert_states()[ItemKey(DRAGON)].acked


def test_a_dead_letter_shows_the_provider_error_and_retry_requeues_it(
    client: httpx.Client, shop: tuple[SqlStore, Clock]
) -> None:
    store, _ = shop
    dead = client.get("/api/outbox", params={"status": "failed"}).json()
    assert dead and {d["channel"] for d in dead} == {"wecom"}
    assert "93000" in dead[0]["last_error"]
    html = client.get("/outbox").text
    assert "invalid webhook url" in html and f'action="/outbox/{dead[0]["id"]}/retry"' in html
    answer = client.post(f"/outbox/{dead[0]['id']}/retry")
    assert answer.status_code == 303
    entry = SqlOutbox(store.engine).get(dead[0]["id"])
    assert entry is not None and entry.status is OutboxStatus.PENDING
    retried = client.post(f"/api/outbox/{dead[1]['id']}/retry").json()
    assert retried["status"] == "pending"
    assert client.post(f"/api/outbox/{dead[1]['id']}/retry").status_code == 409
    assert len(client.get("/api/outbox").json()) == len(dead) - 2


def test_tasks_are_grouped_by_supplier_closed_and_exported(
    client: httpx.Client, shop: tuple[SqlStore, Clock]
) -> None:
    store, _ = shop
    tasks = client.get("/api/tasks").json()
    assert sorted(t["sku"] for t in tasks) == sorted([DRAGON, GLOBE, DUCK])
    html = client.get("/tasks").text
    assert html.index("义乌龙窑") < html.index("汕头玩具厂")
    duck = next(t for t in tasks if t["sku"] == DUCK)
    assert client.post(f"/tasks/{duck['id']}/close").status_code == 303
    assert [t["sku"] for t in client.get("/api/tasks").json()].count(DUCK) == 0
    assert SqlTaskStore(store.engine).list("closed")[0].close_reason == "closed on the dashboard"
    assert client.post(f"/api/tasks/{duck['id']}/close").status_code == 404
    exported = client.get("/api/tasks/export", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["sku"] for r in rows) == sorted([DRAGON, GLOBE])
    assert all(not r["title"].startswith("=") for r in rows)
    as_json = client.get("/api/tasks/export", params={"format": "json"}).json()
    assert as_json["draft"] is True
    globe = next(t for t in client.get("/api/tasks").json() if t["sku"] == GLOBE)
    assert client.post(f"/api/tasks/{globe['id']}/close").json() == {"ok": True, "id": globe["id"]}
    assert client.get("/api/tasks/export", params={"format": "xml"}).status_code == 400


def test_the_alert_log_filters_by_item_kind_tier_and_since(client: httpx.Client) -> None:
    everything = client.get("/alerts").text
    only_out = client.get("/alerts", params={"tier": "OUT"}).text
    assert only_out.count("<tr data-kind=") < everything.count("<tr data-kind=")
    table = only_out.split('<table id="events">')[1]
    assert "tier tier-OUT" in table and "tier tier-T2" not in table
    duck = client.get("/alerts", params={"item": DUCK, "kind": "raised"}).text
    assert duck.count("<tr data-kind=") == 1 and f">{DUCK}</a>" in duck
    later = client.get("/alerts", params={"since": (T0 + timedelta(hours=2)).isoformat()}).text
    assert GLOBE not in later.split('<table id="events">')[1]


def test_the_alert_log_names_event_kinds_in_the_pages_language(client: httpx.Client) -> None:
    # #11 item 19 fixed the CLI's event words; the dashboard's log and item page still showed
    # raised/worsened/late_supplier and "ok/OK → pending/T2" on zh-CN pages.
    for page in ("/alerts", f"/items/{DUCK}"):
        zh = client.get(page, params={"lang": "zh-CN"}).text
        cells = re.findall(r"<td>([^<]*)</td>", zh)
        assert "预警" in cells and "raised" not in cells, page
        en = client.get(page, params={"lang": "en"}).text
        assert "raised" in re.findall(r"<td>([^<]*)</td>", en), page
    zh = client.get("/alerts", params={"lang": "zh-CN"}).text
    options = re.findall(r'<option value="[a-z_]+" ?>([^<]*)</option>', zh)
    assert "供应商延迟到货" in options and "late_supplier" not in options


def test_the_review_page_and_api_count_stockouts_and_warnings(client: httpx.Client) -> None:
    review = client.get("/api/review", params={"days": 30}).json()
    assert review["episodes"] == 3
    # The dragon went OUT two hours after its first notice; no lead time → neither in time
    # nor late. Nobody was surprised by an OUT first notice.
    assert (review["stockouts"], review["missed"]) == (1, 0)
    dragon = next(e for e in review["episode_list"] if e["item"] == DRAGON)
    assert dragon["warning_hours"] == 2.0 and dragon["worst_tier"] == "OUT"
    assert review["notices_per_item"][DRAGON] == 3
    html = client.get("/review", params={"lang": "en"}).text
    assert '<b id="stockouts">1</b>' in html and "Alert review" in html
    assert client.get("/api/review", params={"since": "2030-01-01"}).json()["episodes"] == 0


def test_with_a_shared_token_pages_need_a_login_and_the_api_a_bearer(
    shop: tuple[SqlStore, Clock],
) -> None:
    with (
        serve(create_app(_deps(*shop, token="s3cret-web"))) as url,
        httpx.Client(base_url=url) as c,
    ):
        first = c.get("/tasks")
        assert first.status_code == 303 and first.headers["location"] == "/login?next=%2Ftasks"
        assert c.get("/api/items").status_code == 401
        assert c.get("/api/alerts").status_code == 401
        assert c.get("/healthz").status_code == 200
        # Non-ASCII guesses are wrong tokens too, not server errors.
        bad_bearer = {"Authorization": "Bearer 密码".encode()}
        assert httpx.get(f"{url}/api/items", headers=bad_bearer).status_code == 401
        bearer = {"Authorization": "Bearer s3cret-web"}
        assert httpx.get(f"{url}/api/items", headers=bearer).status_code == 200
        assert httpx.get(f"{url}/tasks", headers=bearer).status_code == 200


def test_unknown_items_and_bad_periods_get_clear_errors(client: httpx.Client) -> None:
    assert client.get("/api/items/NO-SUCH-SKU").status_code == 404
    assert client.get("/items/NO-SUCH-SKU").status_code == 404
    assert client.get("/api/review", params={"days": 0}).status_code == 422
    assert client.get("/api/review", params={"since": "soon"}).status_code == 400
    assert client.get("/api/outbox", params={"status": "lost"}).status_code == 400


def test_without_sql_side_tables_the_pages_say_so_instead_of_failing() -> None:
    store = InMemoryStore()
    store.sync_items(ITEMS, {}, T0)
    store.add_readings([Reading(ItemKey(DUCK), T0, ReadingSource.POLL, 7)], T0)
    deps = WebDeps(
        store=store,
        clock=lambda: T0,
        push_secret=None,
        status=lambda: status_report(store, {}, T0, timedelta(hours=6)),
    )
    with serve(create_app(deps)) as url, httpx.Client(base_url=url) as c:
        assert "当前存储不支持此页面" in c.get("/outbox").text
        assert c.get("/api/tasks").status_code == 404
        duck = next(r for r in c.get("/api/items").json() if r["item"] == DUCK)
        assert (duck["available"], duck["on_hand"], duck["levels"]) == (7, 7, None)


def test_the_tasks_board_shows_1688_lines_matched_to_no_item(
    client: httpx.Client, shop: tuple[SqlStore, Clock]
) -> None:
    # Regression: unmatched purchase lines were only in the daemon's log.
    store, clock = shop
    assert "unmatched-lines" not in client.get("/tasks").text
    line = UnmatchedLine("1688:88:2", "620299", "-", 30, "杯业", "waitsellersend", "no_item")
    SqlPurchaseOrderStore(store.engine).record_unmatched([line], [], clock())
    zh = client.get("/tasks").text
    assert "未匹配商品的 1688 采购行" in zh and "1688:88:2" in zh
    assert "没有商品对应此 offer/规格" in zh
    en = client.get("/tasks", params={"lang": "en"}).text
    assert "1688 purchase lines matched to no item" in en and "no item lists this offer/spec" in en


def test_the_item_pages_explanation_names_strategy_and_inputs_in_zh_cn(
    client: httpx.Client,
) -> None:
    # The explanation table showed the raw strategy (reorder_point …) and input names.
    html = client.get(f"/items/{GLOBE}", params={"lang": "zh-CN"}).text
    table = html[html.index('<table id="explanation">') :]
    table = table[: table.index("</table>")]
    assert "固定阈值" in table and "日均销速" in table
    assert "fixed" not in table and "velocity" not in table
    html = client.get(f"/items/{GLOBE}", params={"lang": "en"}).text
    table = html[html.index('<table id="explanation">') :]
    table = table[: table.index("</table>")]
    assert ">fixed<" in table and ">velocity<" in table
