"""Rendering notices in zh-CN and English, with hostile titles escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stockwatch.core.messages import (
    check_lang,
    escape_markdown,
    format_cover,
    render,
    tier_label,
)
from stockwatch.core.model import Item, ItemKey, Notice, NoticeKind, OfferMapping, Tier, TierLevels

AT = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CLOCK = Item(
    "RETRO-CLOCK",
    title="复古闹钟 *限时* [点我](http://evil.example)",
    offer=OfferMapping("RETRO-CLOCK", "610000000001"),
)


def notice(kind: NoticeKind = NoticeKind.RAISED, tier: Tier = Tier.T2, **kw: object) -> Notice:
    base: dict[str, object] = dict(
        key=ItemKey("RETRO-CLOCK"),
        kind=kind,
        tier=tier,
        previous_tier=Tier.T1,
        at=AT,
        episode=1,
        seq=1,
        available=40,
        on_hand=50,
        levels=TierLevels(100, 60, 20, velocity=8),
    )
    base.update(kw)
    return Notice(**base)  # type: ignore[arg-type]


def test_zh_cn_is_the_default_and_shows_both_numbers() -> None:
    msg = render(notice(), CLOCK)
    assert msg.title == "【库存预警】T2 紧急补货 RETRO-CLOCK"
    assert "可用库存：40（现有库存 50）" in msg.text
    assert "T1 100 / T2 60 / T3 20" in msg.text
    assert "可售天数：5.0天" in msg.text
    assert "https://detail.1688.com/offer/610000000001.html" in msg.text


def test_english_on_request() -> None:
    msg = render(notice(NoticeKind.WORSENED, Tier.T3), CLOCK, "en")
    assert msg.title == "[Low stock, worse] T3 imminent stockout RETRO-CLOCK"
    assert "Available: 40 (On hand 50)" in msg.text
    assert "was: T1 attention" in msg.text


def test_a_reminder_after_goods_came_in_short_says_so_in_both_languages() -> None:
    from stockwatch.core.messages import event_detail
    from stockwatch.core.model import GOODS_IN

    zh = render(notice(NoticeKind.REMINDER, Tier.T1, detail=GOODS_IN), CLOCK)
    assert "说明：在途的货已到，库存仍不足：请再补货" in zh.text
    en = render(notice(NoticeKind.REMINDER, Tier.T1, detail=GOODS_IN), CLOCK, "en")
    assert "Detail: the goods on order are in and stock is still short: order again" in en.text
    assert "说明" not in render(notice(NoticeKind.REMINDER, Tier.T1), CLOCK).text
    assert event_detail(GOODS_IN, "zh-CN") == "在途的货已到，库存仍不足：请再补货"


def test_hostile_titles_are_escaped_in_markdown_but_kept_in_text() -> None:
    msg = render(notice(), CLOCK)
    assert "[点我](http://evil.example)" in msg.text
    assert "[点我](http" not in msg.markdown
    assert r"\*限时\*" in msg.markdown
    assert "https://detail.1688.com/offer/610000000001.html" in msg.markdown


def test_newlines_in_titles_cannot_forge_lines() -> None:
    assert "\n" not in escape_markdown("a\n### fake heading")


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_renders_in_both_languages(kind: NoticeKind) -> None:
    for lang in ("zh-CN", "en"):
        msg = render(notice(kind, detail="delisted"), None, lang)
        assert msg.title and msg.text.startswith(msg.title)


def test_unavailable_offers_say_why() -> None:
    assert "已下架" in render(notice(NoticeKind.UNAVAILABLE, detail="delisted")).text
    assert "delisted" in render(notice(NoticeKind.UNAVAILABLE, detail="delisted"), lang="en").text


def test_cover_is_infinite_without_sales() -> None:
    assert format_cover(None) == "∞"
    assert "∞" in render(notice(levels=TierLevels(100, 60, 20, velocity=0))).text


@pytest.mark.parametrize(
    ("raw", "lang"), [("zh", "zh-CN"), ("zh_CN", "zh-CN"), ("EN", "en"), ("en-US", "en")]
)
def test_language_spellings(raw: str, lang: str) -> None:
    assert check_lang(raw) == lang


def test_unknown_languages_are_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        check_lang("fr")


def test_tier_labels() -> None:
    assert tier_label(Tier.OUT) == "已断货"
    assert tier_label(Tier.T1, "en") == "T1 attention"


@pytest.mark.parametrize(
    ("stored", "zh"),
    [
        ("not in stock.csv", "stock.csv 中没有这个商品"),
        ("offer 610000000001: no answer", "1688 商品 610000000001：没有应答"),
        ("/srv/erp/stock.csv: file not found", "/srv/erp/stock.csv：文件不存在"),
    ],
)
def test_a_stale_notice_says_why_in_chinese(stored: str, zh: str) -> None:
    # Found verifying #11: the "data stale" message of a zh-CN robot read "说明：not in
    # stock.csv" (the read's error as stored, in English).
    assert f"说明：{zh}" in render(notice(NoticeKind.STALE, detail=stored)).text
    assert f"{stored}" in render(notice(NoticeKind.STALE, detail=stored), lang="en").text


def test_goods_booked_in_are_not_called_on_order() -> None:
    # Found in review: units received but not yet on the shelf read "在途" (on the way).
    due = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    only = notice(shelf=0, on_order=100, booked_in=100)
    assert "货架库存：0（已收货待上架 100）" in render(only).text
    assert "Shelf: 0 (booked in, not yet on the shelf 100)" in render(only, lang="en").text
    both = notice(shelf=0, on_order=130, booked_in=100, due=due)
    zh = render(both).text
    assert "在途 30，预计到货" in zh and "已收货待上架 100" in zh
    assert "在途" in render(notice(shelf=0, on_order=30, due=due)).text
