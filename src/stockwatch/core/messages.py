"""Render notices as human text in zh-CN (default) or English.

Plain text and markdown are produced here; channel adapters escape and wrap them for their
own formats. Titles come from 1688 and are user-controlled: markdown output escapes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from stockwatch.core.model import GOODS_IN, Item, LateOrder, Notice, NoticeKind, Tier
from stockwatch.core.row_text import file_problem_text

# Merchants read dates in Beijing time; a fixed offset keeps the core free of tz data files.
_CHINA = timezone(timedelta(hours=8))

LANGS = ("zh-CN", "en")

TIER_LABELS: dict[str, dict[Tier, str]] = {
    "zh-CN": {
        Tier.OK: "正常",
        Tier.T1: "T1 提醒关注",
        Tier.T2: "T2 紧急补货",
        Tier.T3: "T3 即将断货",
        Tier.OUT: "已断货",
    },
    "en": {
        Tier.OK: "OK",
        Tier.T1: "T1 attention",
        Tier.T2: "T2 urgent reorder",
        Tier.T3: "T3 imminent stockout",
        Tier.OUT: "OUT of stock",
    },
}

_KIND_TITLES: dict[str, dict[NoticeKind, str]] = {
    "zh-CN": {
        NoticeKind.RAISED: "库存预警",
        NoticeKind.WORSENED: "库存预警升级",
        NoticeKind.REMINDER: "库存预警提醒",
        NoticeKind.DROPPED: "库存继续下降",
        NoticeKind.RESOLVED: "库存已恢复",
        NoticeKind.STALE: "库存数据读取失败",
        NoticeKind.SHARP_DROP: "库存骤降",
        NoticeKind.UNAVAILABLE: "商品不可售",
        NoticeKind.LATE_SUPPLIER: "供应商延迟到货",
    },
    "en": {
        NoticeKind.RAISED: "Low stock",
        NoticeKind.WORSENED: "Low stock, worse",
        NoticeKind.REMINDER: "Low stock, reminder",
        NoticeKind.DROPPED: "Stock still falling",
        NoticeKind.RESOLVED: "Stock recovered",
        NoticeKind.STALE: "Stock data stale",
        NoticeKind.SHARP_DROP: "Sharp stock drop",
        NoticeKind.UNAVAILABLE: "Offer unavailable",
        NoticeKind.LATE_SUPPLIER: "Supplier late",
    },
}

_WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "item": "商品",
        "available": "可用库存",
        "on_hand": "现有库存",
        "levels": "预警线",
        "cover": "可售天数",
        "days": "天",
        "no_sales": "近期无销量",
        "velocity": "日均销量",
        "was": "原级别",
        "detail": "说明",
        "unknown": "未知",
        "offer": "1688 商品",
        "shelf": "货架库存",
        "on_order": "在途",
        "booked_in": "已收货待上架",
        "due": "预计到货",
        "order": "采购单",
        "supplier": "供应商",
        "late_by": "已延迟",
        "shelf_lasts": "货架可售",
        "escalated": "到货前货架将售罄，请催货或另行采购",
        "expected": "原定到货",
        "goods_in": "在途的货已到，库存仍不足：请再补货",
        "until": "暂停至 {at}",
    },
    "en": {
        "item": "Item",
        "available": "Available",
        "on_hand": "On hand",
        "levels": "Levels",
        "cover": "Days of cover",
        "days": "d",
        "no_sales": "no recent sales",
        "velocity": "Daily sales",
        "was": "was",
        "detail": "Detail",
        "unknown": "unknown",
        "offer": "1688 offer",
        "shelf": "Shelf",
        "on_order": "on order",
        "booked_in": "booked in, not yet on the shelf",
        "due": "due",
        "order": "Purchase order",
        "supplier": "Supplier",
        "late_by": "Late by",
        "shelf_lasts": "Shelf lasts",
        "escalated": "the shelf runs out before it can arrive: chase it or buy elsewhere",
        "expected": "Expected",
        "goods_in": "the goods on order are in and stock is still short: order again",
        "until": "until {at}",
    },
}

_UNAVAILABLE: dict[str, dict[str, str]] = {
    "zh-CN": {"delisted": "已下架", "expired": "已过期", "gone": "已删除或不存在"},
    "en": {"delisted": "delisted", "expired": "expired", "gone": "deleted or missing"},
}


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    markdown: str


def check_lang(lang: str) -> str:
    """Return the canonical language code, accepting ``zh``/``cn``/``en`` spellings."""
    norm = lang.strip().lower().replace("_", "-")
    if norm in ("zh", "zh-cn", "cn", "zh-hans"):
        return "zh-CN"
    if norm.startswith("en"):
        return "en"
    raise ValueError(f"unsupported language {lang!r}; use zh-CN or en")


def tier_label(tier: Tier, lang: str = "zh-CN") -> str:
    return TIER_LABELS[check_lang(lang)][tier]


EVENT_WORDS: dict[str, tuple[str, str]] = {
    "raised": ("预警", "raised"),
    "worsened": ("升级", "worsened"),
    "reminder": ("提醒", "reminder"),
    "dropped": ("继续下降", "dropped"),
    "resolved": ("已恢复", "resolved"),
    "stale": ("数据过期", "stale"),
    "sharp_drop": ("骤降", "sharp drop"),
    "unavailable": ("不可售", "unavailable"),
    "late_supplier": ("供应商延迟到货", "late supplier"),
    "transition": ("状态变化", "transition"),
    "ack": ("已确认", "acknowledged"),
    "snooze": ("暂停提醒", "snoozed"),
    # alert phases
    "ok": ("正常", "ok"),
    "pending": ("观察中", "pending"),
    "firing": ("预警中", "firing"),
    "recovering": ("恢复中", "recovering"),
}


def event_word(word: str, lang: str = "zh-CN") -> str:
    """Return an event kind or alert phase in ``lang`` (unknown words as they are)."""
    pair = EVENT_WORDS.get(word)
    if pair is None:
        return word
    return pair[0] if check_lang(lang) == "zh-CN" else pair[1]


_PHASE_TIER = re.compile(r"\b(ok|pending|firing|recovering)/(OK|T1|T2|T3|OUT)\b")


_ORDER_ACK = re.compile(r"^order #(?P<n>\d+)$")  # an acknowledgement by placing an order
_SNOOZE_END = re.compile(r"^until (?P<at>\S+)$")  # a snooze, its end stored in UTC ISO


def event_detail(
    detail: str, lang: str = "zh-CN", when: Callable[[datetime], str] | None = None
) -> str:
    """Return an event's stored detail for people: a transition's ``ok/OK → pending/T2``
    names its phases in ``lang`` (``正常/OK → 观察中/T2``), an acknowledgement's order and a
    snooze's end are worded in it (the end shown by ``when``, the shop's clock, when given);
    other details as they are."""
    language = check_lang(lang)
    if detail == GOODS_IN:
        return _WORDS[language]["goods_in"]
    snoozed = _SNOOZE_END.match(detail)
    if snoozed:
        at = snoozed["at"]
        if when is not None:
            with suppress(ValueError):  # not a time after all: shown as stored
                at = when(datetime.fromisoformat(at))
        return _WORDS[language]["until"].format(at=at)
    ordered = _ORDER_ACK.match(detail)
    if ordered and language == "zh-CN":
        return f"采购单 #{ordered['n']}"
    return _PHASE_TIER.sub(lambda m: f"{event_word(m[1], lang)}/{m[2]}", detail)


_READ_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^not in (?P<file>.+)$"), "{file} 中没有这个商品"),
    (
        re.compile(r"^no 1688 offer mapped to this item$"),
        "没有对应的 1688 商品（商品表的 offer_id）",
    ),
    (re.compile(r"^offer (?P<offer>\d+): no answer$"), "1688 商品 {offer}：没有应答"),
    (re.compile(r"^offer (?P<offer>\d+): (?P<why>.+)$"), "1688 商品 {offer}：{why}"),
)


def read_error_text(detail: str, lang: str = "zh-CN") -> str:
    """Return why a read failed (a stale notice's detail, stored in English) in ``lang``;
    file problems as ``core.row_text`` words them, an unknown form as it is."""
    if check_lang(lang) == "en" or not detail:
        return detail
    for pattern, zh in _READ_ERRORS:
        found = pattern.match(detail)
        if found:
            return zh.format(**found.groupdict())
    return file_problem_text(detail, lang)


def word(key: str, lang: str = "zh-CN") -> str:
    return _WORDS[check_lang(lang)][key]


def format_cover(days: float | None, lang: str = "zh-CN") -> str:
    """Return days of cover for people: ``∞`` when nothing sells."""
    if days is None or math.isinf(days):
        return "∞"
    return f"{days:.1f}{' ' if check_lang(lang) == 'en' else ''}{word('days', lang)}"


def format_when(at: datetime) -> str:
    """Return a date and time for people, in China time: ``12-05 14:00``."""
    return at.astimezone(_CHINA).strftime("%m-%d %H:%M")


def shelf_line(notice: Notice, lang: str = "zh-CN") -> str:
    """Return the shelf figure, with the goods on the way and when they are due."""
    w = _WORDS[check_lang(lang)]
    shelf = w["unknown"] if notice.shelf is None else str(notice.shelf)
    if notice.on_order <= 0:
        return shelf
    sep = "，" if lang == "zh-CN" else ", "
    parts = []
    coming = notice.on_order - notice.booked_in
    if coming > 0:
        parts.append(f"{w['on_order']} {coming}")
        if notice.due is not None:
            parts[-1] += f"{sep}{w['due']} {format_when(notice.due)}"
    if notice.booked_in > 0:  # received, the shop's stock not yet updated
        parts.append(f"{w['booked_in']} {notice.booked_in}")
    extra = sep.join(parts)
    return f"{shelf}（{extra}）" if lang == "zh-CN" else f"{shelf} ({extra})"


def late_lines(late: LateOrder, lang: str = "zh-CN") -> list[tuple[str, str]]:
    """Return the lines that say which order is late, by how much and how long the shelf lasts."""
    w = _WORDS[check_lang(lang)]
    days = f"{late.days_late:.1f}{' ' if lang == 'en' else ''}{w['days']}"
    lines = [
        (w["order"], f"{late.order_ref} × {late.open_quantity}"),
        (w["supplier"], late.supplier or w["unknown"]),
        (w["expected"], format_when(late.expected_at)),
        (w["late_by"], days),
        (w["shelf_lasts"], format_cover(late.shelf_days, lang)),
    ]
    if late.escalated:
        lines.append((w["detail"], w["escalated"]))
    return lines


_MARKDOWN_ESCAPES = str.maketrans(
    {**{ch: "\\" + ch for ch in "\\`*_{}[]()#+-.!|<>~"}, "\r": " ", "\n": " "}
)


def escape_markdown(text: str) -> str:
    """Escape markdown control characters in user-controlled text such as 1688 titles."""
    return text.translate(_MARKDOWN_ESCAPES)


def render(notice: Notice, item: Item | None = None, lang: str = "zh-CN") -> Message:
    """Return the notice as a title, plain text and markdown, in ``lang``."""
    lang = check_lang(lang)
    w = _WORDS[lang]
    kind_title = _KIND_TITLES[lang][notice.kind]
    tier_text = TIER_LABELS[lang][notice.tier]
    name = str(notice.key)
    title_text = item.title if item and item.title else ""
    head = f"【{kind_title}】{tier_text}" if lang == "zh-CN" else f"[{kind_title}] {tier_text}"
    if notice.kind is NoticeKind.RESOLVED:
        head = f"【{kind_title}】" if lang == "zh-CN" else f"[{kind_title}]"
    title = f"{head} {name}"
    lines: list[tuple[str, str]] = [(w["item"], f"{name} {title_text}".strip())]
    if notice.kind is NoticeKind.UNAVAILABLE:
        lines.append((w["detail"], _UNAVAILABLE[lang].get(notice.detail, notice.detail)))
    elif notice.kind is NoticeKind.STALE:
        lines.append((w["detail"], read_error_text(notice.detail, lang) or w["unknown"]))
    else:
        avail = w["unknown"] if notice.available is None else str(notice.available)
        on_hand = w["unknown"] if notice.on_hand is None else str(notice.on_hand)
        lines.append(
            (
                w["available"],
                f"{avail}（{w['on_hand']} {on_hand}）"
                if lang == "zh-CN"
                else f"{avail} ({w['on_hand']} {on_hand})",
            )
        )
        lines.append((w["shelf"], shelf_line(notice, lang)))
        if notice.late is not None:
            lines.extend(late_lines(notice.late, lang))
        lv = notice.levels
        if not lv.disabled:
            lines.append((w["levels"], f"T1 {lv.t1} / T2 {lv.t2} / T3 {lv.t3}"))
        lines.append((w["cover"], format_cover(notice.days_of_cover, lang)))
        if lv.velocity > 0:
            lines.append((w["velocity"], f"{lv.velocity:.2f}"))
        if notice.previous_tier is not notice.tier and notice.kind in (
            NoticeKind.WORSENED,
            NoticeKind.RESOLVED,
        ):
            lines.append((w["was"], TIER_LABELS[lang][notice.previous_tier]))
        if notice.kind is NoticeKind.REMINDER and notice.detail == GOODS_IN:
            lines.append((w["detail"], w["goods_in"]))
        if notice.kind is NoticeKind.SHARP_DROP and notice.detail:
            lines.append((w["detail"], notice.detail))
    if item is not None and item.offer is not None:
        lines.append((w["offer"], item.offer.offer_url))
    sep = "：" if lang == "zh-CN" else ": "
    text = title + "\n" + "\n".join(f"{k}{sep}{v}" for k, v in lines)
    md_lines = [f"### {escape_markdown(title)}"]
    for k, v in lines:
        value = v if k == w["offer"] else escape_markdown(v)
        md_lines.append(f"- **{k}**{sep}{value}")
    return Message(title=title, text=text, markdown="\n".join(md_lines))


_AUTH_EXPIRING = {
    "zh-CN": (
        "1688 授权即将到期",
        "1688 授权（refresh token）将于 {at} 到期，还剩 {days} 天。到期后无法再读取库存。"
        "请运行 `stockwatch auth postpone` 延期，或重新授权：{login}",
    ),
    "en": (
        "1688 authorization expires soon",
        "The 1688 authorization (refresh token) expires at {at}, in {days} day(s); after that "
        "stock can no longer be read. Run `stockwatch auth postpone` to extend it, or authorize "
        "again: {login}",
    ),
}


def auth_expiring_text(at: str, days: int, login: str, lang: str = "zh-CN") -> tuple[str, str]:
    """Return (title, text) warning that the 1688 refresh token expires soon."""
    title, body = _AUTH_EXPIRING[check_lang(lang)]
    return title, body.format(at=at, days=days, login=login)
