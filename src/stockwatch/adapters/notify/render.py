"""Render notices and digests for one channel format from the JSON payload, with Jinja2.

Each format has its own escaping of user-controlled text (1688 titles, SKUs): DingTalk and
Feishu markdown, WeCom markdown (which also reads ``<font>`` and ``<@user>`` tags), HTML for
email (autoescape), and plain text. The payload carries every input, so a channel needs nothing
else to render.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
import markupsafe

from stockwatch.core.messages import check_lang
from stockwatch.ports import OutgoingMessage

LABELS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "item": "商品",
        "sku": "SKU",
        "tier": "级别",
        "available": "可用库存",
        "on_hand": "现有",
        "levels": "预警线",
        "cover": "可售天数",
        "velocity": "日均销量",
        "reorder": "建议补货",
        "order_by": "最晚下单",
        "lead_time": "交期",
        "days": "天",
        "detail": "说明",
        "unknown": "未知",
        "open_item": "查看商品",
        "offer": "1688 商品页",
        "sep": "：",
        "digest": "库存预警汇总",
        "daily": "每日库存风险日报",
        "items": "项",
        "test": "测试消息",
        "shelf": "货架库存",
        "on_order": "在途",
        "booked_in": "已收货待上架",
        "due": "预计到货",
    },
    "en": {
        "item": "Item",
        "sku": "SKU",
        "tier": "Tier",
        "available": "Available",
        "on_hand": "on hand",
        "levels": "Levels",
        "cover": "Days of cover",
        "velocity": "Daily sales",
        "reorder": "Suggested reorder",
        "order_by": "order by",
        "lead_time": "lead time",
        "days": "d",
        "detail": "Detail",
        "unknown": "unknown",
        "open_item": "Open item",
        "offer": "1688 offer",
        "sep": ": ",
        "digest": "Low stock digest",
        "daily": "Daily stock risk report",
        "items": "items",
        "test": "Test message",
        "shelf": "Shelf",
        "on_order": "on order",
        "booked_in": "booked in, not yet on the shelf",
        "due": "due",
    },
}

_MD_INLINE = set("\\`*_{}[]()#|<>~")


def escape_md(text: str) -> str:
    """Escape what changes meaning inside a markdown line (links, emphasis, code, tags).

    Lighter than ``core.messages.escape_markdown``: SKUs keep their ``-`` and ``.`` readable
    in robots that show backslashes literally. Newlines collapse so a title cannot start a
    heading or a list of its own.
    """
    out = []
    for ch in str(text):
        if ch in _MD_INLINE:
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def escape_wecom(text: str) -> str:
    """WeCom markdown also interprets ``<font>``/``<@id>`` tags: use full-width brackets."""
    return escape_md(text).replace("\\<", "＜").replace("\\>", "＞")


def escape_lark(text: str) -> str:
    """Feishu ``lark_md`` reads ``<at>``/``<font>`` tags: entity-encode angle brackets."""
    return escape_md(text).replace("\\<", "&lt;").replace("\\>", "&gt;")


def escape_plain(text: str) -> str:
    return " ".join(str(text).split())


def escape_feishu_text(text: str) -> str:
    """Feishu text and post messages read ``<at user_id="all">``: full-width brackets."""
    return escape_plain(text).replace("<", "＜").replace(">", "＞")


ESCAPES: dict[str, Callable[[str], str]] = {
    "markdown": escape_md,
    "wecom": escape_wecom,
    "lark": escape_lark,
    "text": escape_plain,
    "feishu_text": escape_feishu_text,
}
# What a format's reader takes for a tag, neutralised in text we did not render ourselves
# (test messages, plain texts): the escape's bracket rule, without its markdown escaping.
_TAG_BRACKETS: dict[str, tuple[str, str]] = {
    "wecom": ("＜", "＞"),
    "lark": ("&lt;", "&gt;"),
    "feishu_text": ("＜", "＞"),
}


def _neutralise_tags(text: str, escape: str) -> str:
    brackets = _TAG_BRACKETS.get(escape)
    if brackets is None:
        return text
    return text.replace("<", brackets[0]).replace(">", brackets[1])


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("stockwatch.adapters.notify", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=False,
        trim_blocks=False,
    )


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def is_notice(message: OutgoingMessage) -> bool:
    return "item" in message.payload and "tier" in message.payload


def notices_of(message: OutgoingMessage) -> list[Mapping[str, Any]]:
    """Return the notices a message carries: one for an alert, many for a digest."""
    if "notices" in message.payload:
        return list(message.payload["notices"])
    return [message.payload] if is_notice(message) else []


def _cover_text(days: Any, lang: str) -> str:
    if days is None or (isinstance(days, float) and math.isinf(days)):
        return "∞"
    return f"{float(days):.1f}{' ' if lang == 'en' else ''}{LABELS[lang]['days']}"


def _view(notice: Mapping[str, Any], lang: str) -> dict[str, Any]:
    view = dict(notice)
    item = dict(notice.get("item") or {})
    title = str(item.get("title") or "")
    item["short_title"] = title if len(title) <= 20 else title[:19] + "…"
    view["item"] = item
    view["cover_text"] = _cover_text(notice.get("days_of_cover"), lang)
    view["detail_text"] = str(notice.get("detail") or LABELS[lang]["unknown"])
    view["shelf_text"] = _shelf_text(notice.get("reading") or {}, lang)
    return view


def _shelf_text(reading: Mapping[str, Any], lang: str) -> str:
    """Return the shelf, with goods on the way and when they are due: both numbers, always."""
    labels = LABELS[lang]
    shelf = reading.get("shelf")
    text = labels["unknown"] if shelf is None else str(shelf)
    on_order = int(reading.get("on_order") or 0)
    booked_in = int(reading.get("booked_in") or 0)  # of on_order: received, not yet shown
    parts = []
    if on_order - booked_in > 0:
        parts.append(f"{labels['on_order']} {on_order - booked_in}")
        if reading.get("due_text"):
            parts[-1] += f", {labels['due']} {reading['due_text']}"
    if booked_in > 0:
        parts.append(f"{labels['booked_in']} {booked_in}")
    if parts:
        text += f" ({', '.join(parts)})"
    return text


def lang_of(message: OutgoingMessage, default: str = "zh-CN") -> str:
    raw = message.payload.get("lang") or default
    try:
        return check_lang(str(raw))
    except ValueError:
        return default


def render(
    message: OutgoingMessage,
    fmt: str,
    *,
    escape: str = "markdown",
    lang: str | None = None,
    mention_line: str = "",
    keyword: str = "",
) -> Rendered:
    """Render ``message`` as ``fmt`` (md, txt or html) with ``escape`` for user text.

    ``keyword``: a robot's security keyword; when the title lacks it, the title is prefixed
    with ``【keyword】`` so alerts and recoveries alike pass the robot's keyword check.
    """
    language = check_lang(lang) if lang else lang_of(message)
    labels = LABELS[language]
    notices = notices_of(message)
    headline = message.title
    if keyword and keyword not in headline:
        headline = f"【{keyword}】{headline}"
    if not notices:  # a test message or plain text: no template data
        body = {"md": message.markdown, "txt": message.text, "html": ""}[fmt]
        if fmt == "html":
            body = "<pre>" + str(markupsafe.escape(message.text)) + "</pre>"
        else:
            body = _neutralise_tags(body, escape)
        headline = _neutralise_tags(headline, escape)
        if keyword and keyword not in body:
            body = f"【{keyword}】{body}"
        if mention_line:
            body += "\n" + mention_line
        return Rendered(headline, body)
    views = [_view(n, language) for n in notices]
    name = "digest" if "notices" in message.payload else "alert"
    template = _env().get_template(f"{name}.{fmt}.j2")
    body = template.render(
        notice=views[0],
        notices=views,
        headline=headline,
        L=labels,
        lang=language,
        esc=ESCAPES[escape],
        mention_line=mention_line,
    )
    return Rendered(headline, body.strip() + "\n")
