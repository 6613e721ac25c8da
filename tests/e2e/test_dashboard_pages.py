"""The dashboard's overview paging and filters, item actions, threshold review, channels,
banners, exports and HTML error pages, on the shop that ``test_dashboard`` seeds."""

from __future__ import annotations

import httpx

from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.core.model import Basis, TierLevels
from stockwatch.ports import NewThreshold, ThresholdStatus
from tests.e2e.test_dashboard import DRAGON, DUCK, GLOBE, LAMP, Clock, client, shop

__all__ = ["client", "shop"]  # the fixtures, shared with test_dashboard
SqlStoreClock = tuple[object, Clock]


def test_the_overview_pages_filters_and_searches(client: httpx.Client) -> None:
    first = client.get("/api/items", params={"limit": 2})
    assert [r["item"] for r in first.json()] == [DRAGON, GLOBE]
    assert first.headers["x-total-count"] == "4"
    rest = client.get("/api/items", params={"limit": 2, "offset": 2}).json()
    assert [r["item"] for r in rest] == [DUCK, LAMP]
    at_risk = client.get("/api/items", params={"tier": "risk", "supplier": "义乌龙窑"})
    assert [r["item"] for r in at_risk.json()] == [DRAGON, GLOBE]
    assert [r["item"] for r in client.get("/api/items", params={"q": "橡皮"}).json()] == [DUCK]
    html = client.get("/", params={"per": 1, "page": 2}).text
    assert 'data-item="TEACUP-DRAGON"' not in html and f'data-item="{GLOBE}"' in html
    assert "第 2 / 4 页" in html and 'rel="next"' in html and 'rel="prev"' in html
    live = client.get("/", params={"partial": 1, "tier": "T2"}).text
    assert live.lstrip().startswith("<div") and "<html" not in live
    assert '<b class="count-T2">2</b>' in live and 'class="count-OUT">0<' in live


def test_a_hand_set_level_applies_shows_and_clears(client: httpx.Client) -> None:
    answer = client.post(f"/items/{LAMP}/level", data={"t2": "300"})
    assert answer.status_code == 303
    lamp = client.get(f"/api/items/{LAMP}").json()
    assert lamp["levels"] == {"T1": 450, "T2": 300, "T3": 150}
    assert lamp["threshold_versions"][0]["strategy"] == "hand_set"
    assert "手动设置" in client.get(f"/items/{LAMP}").text
    bad = client.post(f"/items/{LAMP}/level", data={"t2": "10", "t1": "5"})
    assert bad.status_code == 400 and "out of order" in bad.json()["detail"]
    assert client.post(f"/items/{LAMP}/level/clear").status_code == 303
    assert client.get(f"/api/items/{LAMP}").json()["levels"] == {"T1": 50, "T2": 30, "T3": 10}
    assert client.post(f"/items/{LAMP}/level/clear").status_code == 409


def test_held_threshold_changes_are_approved_or_rejected_with_their_diff(
    client: httpx.Client, shop: SqlStoreClock
) -> None:
    store, clock = shop
    thresholds = SqlThresholdStore(store.engine)  # type: ignore[attr-defined]
    held = TierLevels(200, 120, 40, 16.0, Basis("fixed"))
    rows = [NewThreshold(k, held, ThresholdStatus.REVIEW, "T2 ×4") for k in (GLOBE, DUCK, LAMP)]
    thresholds.save(rows, clock())
    html = client.get("/thresholds/review", params={"lang": "en"}).text
    assert "T2: 36 → 120" in html and "(×3.33)" in html and 'value="RUBBER-DUCK:1"' in html
    versions = {v.key: v.version for v in thresholds.in_review()}
    picked = {"action": "approve", "pick": [f"{GLOBE}:{versions[GLOBE]}"]}
    assert client.post("/thresholds/review", data=picked).status_code == 303
    assert client.get(f"/api/items/{GLOBE}").json()["levels"]["T2"] == 120
    everything = {"action": "reject", "every": "true"}
    assert client.post("/thresholds/review", data=everything).status_code == 303
    assert thresholds.in_review() == []
    assert 'id="nothing-held"' in client.get("/thresholds/review").text
    unknown = {"action": "approve", "pick": "x"}
    assert client.post("/thresholds/review", data=unknown).status_code == 400


def test_the_channels_page_shows_a_disabled_channel_and_re_enables_it(
    client: httpx.Client,
) -> None:
    html = client.get("/channels").text
    assert 'data-channel="wecom"' in html and "已停用" in html and "93000" in html
    banner = client.get("/").text
    assert 'data-banner="channel"' in banner and "通知渠道 wecom 已停用" in banner
    assert client.post("/channels/wecom/enable").status_code == 303
    assert "重新启用" not in client.get("/channels").text
    assert client.post("/channels/wecom/enable").status_code == 409


def test_the_purchase_list_csv_opens_in_excel_and_errors_are_pages(client: httpx.Client) -> None:
    csv_body = client.get("/api/tasks/export", params={"format": "csv"}).content
    assert csv_body.startswith(b"\xef\xbb\xbf") and "义乌龙窑".encode() in csv_body
    page = client.get("/items/NO-SUCH-SKU", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "找不到" in page.text and "NO-SUCH-SKU" in page.text
    api = client.get("/api/items/NO-SUCH-SKU", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["detail"].startswith("NO-SUCH-SKU")
    bad = client.get("/", params={"page": 0}, headers={"Accept": "text/html"})
    assert bad.status_code == 400 and "page" in bad.text


def test_an_open_purchase_order_filters_the_overview_and_marks_the_chart(
    client: httpx.Client,
) -> None:
    assert client.get("/api/items", params={"ordered": "true"}).json() == []
    task = next(t for t in client.get("/api/tasks").json() if t["sku"] == DRAGON)
    assert client.post(f"/tasks/{task['id']}/order", data={"quantity": "40"}).status_code == 303
    ordered = client.get("/api/items", params={"ordered": "true"}).json()
    assert [r["item"] for r in ordered] == [DRAGON]
    chart = client.get(f"/api/items/{DRAGON}").json()["chart"]
    assert [(o["quantity"], o["status"]) for o in chart["orders"]] == [(40, "ordered")]
    assert 'data-order="' in client.get(f"/items/{DRAGON}").text


def test_the_open_task_count_is_part_of_the_self_refresh(client: httpx.Client) -> None:
    tasks = client.get("/api/tasks").json()
    assert tasks
    live = client.get("/", params={"partial": 1}).text
    assert f"未完成补货任务 {len(tasks)} 个" in live
    assert client.post(f"/tasks/{tasks[0]['id']}/close").status_code == 303
    live = client.get("/", params={"partial": 1}).text
    assert f"未完成补货任务 {len(tasks) - 1} 个" in live  # the card moves without a reload
    assert f"未完成补货任务 {len(tasks) - 1} 个" in client.get("/").text
