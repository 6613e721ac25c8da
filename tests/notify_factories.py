"""Builders for delivery tests: items, notices, routed messages."""

from __future__ import annotations

from datetime import UTC, datetime

from stockwatch.core.model import (
    Item,
    ItemKey,
    Notice,
    NoticeKind,
    OfferMapping,
    Tier,
    TierLevels,
)
from stockwatch.ports import OutgoingMessage
from stockwatch.service.routing import Route, RouterSettings, RouteTable

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
HOSTILE = '<b>**爆款**</b> [点我](http://evil.example) _x_ `rm` @all <@boss> & "q"'


def item(sku: str = "BW-500-BK", title: str = "保温杯 500ml 黑色", **kw: object) -> Item:
    defaults: dict[str, object] = {
        "offer": OfferMapping(sku, "610947572360"),
        "supplier": "义乌杯业",
        "category": "drinkware",
        "tags": frozenset({"hot"}),
        "lead_time_days": 5.0,
        "min_order_qty": 50,
        "order_multiple": 10,
    }
    defaults.update(kw)
    return Item(sku=sku, title=title, **defaults)  # type: ignore[arg-type]


def notice(
    sku: str = "BW-500-BK",
    tier: Tier = Tier.T2,
    kind: NoticeKind = NoticeKind.RAISED,
    available: int = 12,
    at: datetime = T0,
    previous: Tier = Tier.OK,
    seq: int = 1,
) -> Notice:
    return Notice(
        key=ItemKey(sku),
        kind=kind,
        tier=tier,
        previous_tier=previous,
        at=at,
        episode=1,
        seq=seq,
        available=available,
        on_hand=available + 3,
        levels=TierLevels(60, 30, 10, velocity=4.0),
        reading_at=at,
    )


def routed(
    n: int = 1,
    channel: str = "c",
    tier: Tier = Tier.T2,
    lang: str = "zh-CN",
    prefix: str = "SKU-TEST",
    title: str = "保温杯",
) -> list[tuple[str, OutgoingMessage]]:
    """Return ``n`` routed messages for distinct items on one channel."""
    table = RouteTable(RouterSettings((Route("r", (channel,), lang=lang),)))
    out: list[tuple[str, OutgoingMessage]] = []
    for i in range(n):
        sku = f"{prefix}-{i:05d}"
        out.extend(table.route(notice(sku, tier, available=5 + i % 20), item(sku, f"{title}{i}")))
    return out
