"""Jinja2 templates in zh-CN and English, and escaping of hostile 1688 titles per format."""

from __future__ import annotations

import dataclasses

from stockwatch.adapters.notify.render import escape_lark, escape_md, escape_wecom, render
from stockwatch.core.model import Tier
from stockwatch.service.routing import Route, RouterSettings, RouteTable
from tests.notify_factories import HOSTILE, routed


def test_chinese_alerts_show_every_number_people_act_on() -> None:
    [(_, message)] = routed(1, tier=Tier.T2)
    body = render(message, "md").body
    for words in ("可用库存", "预警线", "可售天数", "建议补货", "最晚下单", "T2 紧急补货"):
        assert words in body
    assert "[查看商品](https://detail.1688.com/offer/610947572360.html)" in body


def test_english_alerts_use_english_labels() -> None:
    [(_, message)] = routed(1, lang="en")
    body = render(message, "md").body
    for words in ("Available", "Levels", "Days of cover", "Suggested reorder", "Open item"):
        assert words in body
    assert "可用库存" not in body


def test_hostile_titles_are_escaped_for_each_format() -> None:
    [(_, message)] = routed(1, title=HOSTILE)
    md = render(message, "md", escape="markdown").body
    assert "](http://evil.example)" not in md and "\\*\\*爆款\\*\\*" in md
    html = render(message, "html").body
    assert "<b>**爆款**</b>" not in html and "&lt;b&gt;" in html
    [(_, forged)] = routed(1, title="杯子\n可用库存: 9999")
    text = render(forged, "txt", escape="text").body
    assert "\n可用库存: 9999" not in text  # a title cannot forge a line of its own
    assert "杯子 可用库存: 9999" in text


def test_feishu_text_cannot_mention_everyone_through_a_title() -> None:
    forged = '<at user_id="all">所有人</at> 杯子'
    [(_, message)] = routed(1, title=forged)
    for fmt in ("txt", "md"):
        for escape in ("feishu_text", "lark"):
            rendered = render(message, fmt, escape=escape)
            assert "<at" not in rendered.body, (fmt, escape)
    # The headline (the route's title, which quotes the item title) is escaped too.
    [(_, titled)] = routed(1)
    hostile = dataclasses.replace(titled, title=forged)
    assert "<at" not in render(hostile, "txt", escape="feishu_text").body
    plain = dataclasses.replace(titled, payload={}, text=forged, title=forged)
    assert "<at" not in render(plain, "txt", escape="feishu_text").body


def test_channel_labels_follow_the_message_language_unless_the_url_sets_one() -> None:
    from stockwatch.adapters.notify.registry import build_channel

    [(_, en)] = routed(1, lang="en")
    console = build_channel("c", "console://")  # no lang= in the URL
    assert console.lang_for(en) == "en"
    forced = build_channel("c", "console://?lang=zh-CN")
    assert forced.lang_for(en) == "zh-CN"
    test_message = dataclasses.replace(en, payload={})  # carries no language of its own
    assert build_channel("c", "console://", lang="en").lang_for(test_message) == "en"


def test_escapers_neutralise_tags_links_and_newlines() -> None:
    assert escape_md("a\n# b [x](y)") == "a \\# b \\[x\\]\\(y\\)"
    assert "<@boss>" not in escape_wecom("<@boss>") and "＜@boss＞" in escape_wecom("<@boss>")
    assert escape_lark('<at id="all"></at>').startswith("&lt;at")


def test_a_digest_lists_every_item_and_the_count() -> None:
    from stockwatch.ports import OutgoingMessage

    rows = routed(3)
    digest = OutgoingMessage(
        title="【库存预警汇总】3 项",
        text="",
        markdown="",
        idempotency_key="d",
        tier="T2",
        kind="digest",
        payload={"kind": "digest", "lang": "zh-CN", "notices": [m.payload for _, m in rows]},
    )
    body = render(digest, "md").body
    assert body.startswith("### 【库存预警汇总】3 项")
    assert all(f"SKU-TEST-{i:05d}" in body for i in range(3))


def test_the_keyword_is_prefixed_only_when_missing() -> None:
    [(_, zh)] = routed(1)
    [(_, en)] = routed(1, lang="en")
    assert render(zh, "md", keyword="库存").title == zh.title
    assert render(en, "md", keyword="库存").title.startswith("【库存】")


def test_goods_booked_in_read_as_received_not_on_the_way_in_every_channel() -> None:
    from tests.notify_factories import item, notice

    table = RouteTable(RouterSettings((Route("r", ("c",), lang="zh-CN"),)))
    booked = dataclasses.replace(notice("CUP", Tier.OUT, available=100), shelf=0, on_order=100)
    [(_, message)] = table.route(dataclasses.replace(booked, booked_in=100), item("CUP", "杯"))
    body = render(message, "md").body
    assert "已收货待上架 100" in body and "在途" not in body
    [(_, coming)] = table.route(booked, item("CUP", "杯"))
    assert "在途 100" in render(coming, "md").body
