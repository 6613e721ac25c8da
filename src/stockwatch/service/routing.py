"""Routing: which channels hear about a notice, when, and with which message.

1. Match routes by tier, category, tag and supplier (an empty filter matches everything).
2. Render the notice (core messages) in the route's language and attach the JSON payload with
   every input (levels, velocity, lead time, the reading, the reorder suggestion).
3. Quiet hours defer a notice to the end of the quiet period, except the bypass tiers (T3/OUT).
4. One message per channel per notice, even when several routes name the same channel.

Implements ``ports.Router``; the persistence layer calls it inside the alert transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from stockwatch.core.messages import check_lang, format_when, late_lines, render, tier_label
from stockwatch.core.model import Item, Notice, NoticeKind, Tier
from stockwatch.core.replenishment import PriceBreak, suggest
from stockwatch.ports import OutgoingMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROBLEM_KINDS = (NoticeKind.STALE, NoticeKind.UNAVAILABLE)


@dataclass(frozen=True)
class QuietHours:
    """A daily quiet period in local time, e.g. 22:00–08:00; ``bypass`` tiers ignore it."""

    start: time
    end: time
    tz: tzinfo = SHANGHAI
    bypass: frozenset[Tier] = frozenset({Tier.T3, Tier.OUT})

    @classmethod
    def parse(
        cls, text: str, tz: tzinfo = SHANGHAI, bypass: frozenset[Tier] | None = None
    ) -> QuietHours:
        """Parse ``"22:00-08:00"``."""
        try:
            a, b = (part.strip() for part in text.split("-"))
            start, end = time.fromisoformat(a), time.fromisoformat(b)
        except ValueError:
            raise ValueError(f"quiet hours {text!r}: use HH:MM-HH:MM, e.g. 22:00-08:00") from None
        if start == end:
            raise ValueError(f"quiet hours {text!r}: start and end are equal")
        return cls(start, end, tz, bypass if bypass is not None else frozenset({Tier.T3, Tier.OUT}))

    def active(self, now: datetime) -> bool:
        local = now.astimezone(self.tz).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, now: datetime) -> datetime:
        """Return the first moment after ``now`` when the quiet period is over."""
        local = now.astimezone(self.tz)
        end = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.tz)
        return end


@dataclass(frozen=True)
class Route:
    name: str
    channels: tuple[str, ...]
    tiers: frozenset[Tier] = frozenset()  # empty: every alert tier
    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    suppliers: frozenset[str] = frozenset()
    quiet: QuietHours | None = None
    digest_at: time | None = None  # daily digest time (local), None: no daily digest
    notify_recovery: bool = True
    notify_problems: bool = True  # stale data, delisted offers
    mention_tiers: frozenset[Tier] = frozenset({Tier.T3, Tier.OUT})
    lang: str = "zh-CN"
    link_base: str = ""  # dashboard URL; the item link is <link_base>/items/<key>
    tz: tzinfo = SHANGHAI

    def matches_item(self, item: Item | None) -> bool:
        if self.categories and (item is None or item.category not in self.categories):
            return False
        if self.tags and (item is None or not (item.tags & self.tags)):
            return False
        return not (self.suppliers and (item is None or item.supplier not in self.suppliers))

    def matches(self, notice: Notice, item: Item | None) -> bool:
        if not self.matches_item(item):
            return False
        if notice.kind is NoticeKind.RESOLVED:
            return self.notify_recovery and self._tier_ok(notice.previous_tier)
        if notice.kind in PROBLEM_KINDS:
            return self.notify_problems
        return self._tier_ok(notice.tier)

    def _tier_ok(self, tier: Tier) -> bool:
        return tier is not Tier.OK and (not self.tiers or tier in self.tiers)


@dataclass(frozen=True)
class RouterSettings:
    routes: tuple[Route, ...] = ()
    price_breaks: Callable[[Item], Sequence[PriceBreak]] | None = None
    default_lead_time_days: float | None = None


def item_url(item: Item | None, key: str, link_base: str) -> str:
    if link_base:
        return f"{link_base.rstrip('/')}/items/{quote(key, safe='')}"
    return item.offer.offer_url if item is not None and item.offer is not None else ""


def notice_payload(
    notice: Notice,
    item: Item | None,
    lang: str,
    link_base: str = "",
    price_breaks: Sequence[PriceBreak] = (),
    tz: tzinfo = SHANGHAI,
    default_lead_time: float | None = None,
) -> dict[str, Any]:
    """Return the notice as JSON with every input a receiver needs to act without asking."""
    key = str(notice.key)
    lv = notice.levels
    cover = notice.days_of_cover
    lead = item.lead_time_days if item is not None and item.lead_time_days else default_lead_time
    suggestion = None
    wants_order = notice.kind not in (NoticeKind.RESOLVED, NoticeKind.LATE_SUPPLIER)
    if wants_order and not lv.disabled and notice.tier >= Tier.T1:
        s = suggest(
            available=notice.available,
            t1=lv.t1,
            velocity=lv.velocity,
            order_rate=lv.order_rate,
            cycle_days=lv.order_cycle_days,
            today=notice.at.astimezone(tz).date(),
            lead_time_days=lead,
            min_order_qty=item.min_order_qty if item else 1,
            order_multiple=item.order_multiple if item else 1,
            breaks=price_breaks,
        )
        suggestion = {
            "quantity": s.quantity,
            "raw_quantity": round(s.raw_quantity, 2),
            "order_by": s.order_by.isoformat(),
            "lead_time_days": s.lead_time_days,
            "reason": s.reason,
        }
    return {
        "version": 1,
        "idempotency_key": notice.idempotency_key,
        "kind": notice.kind.value,
        "lang": lang,
        "tier": notice.tier.name,
        "tier_label": tier_label(notice.tier, lang),
        "previous_tier": notice.previous_tier.name,
        "at": notice.at.isoformat(),
        "episode": notice.episode,
        "seq": notice.seq,
        "detail": notice.detail,
        "item": {
            "key": key,
            "sku": notice.key.sku,
            "warehouse": notice.key.warehouse,
            "title": item.title if item else "",
            "supplier": item.supplier if item else "",
            "category": item.category if item else "",
            "tags": sorted(item.tags) if item else [],
            "offer_id": item.offer.offer_id if item and item.offer else None,
            "offer_url": item.offer.offer_url if item and item.offer else None,
            "item_url": item_url(item, key, link_base),
            "lead_time_days": lead,
            "min_order_qty": item.min_order_qty if item else 1,
            "order_multiple": item.order_multiple if item else 1,
        },
        "reading": {
            "available": notice.available,
            "shelf": notice.shelf,
            "on_order": notice.on_order,
            "booked_in": notice.booked_in,
            "due": notice.due.isoformat() if notice.due else None,
            "due_text": format_when(notice.due) if notice.due else None,
            "on_hand": notice.on_hand,
            "observed_at": notice.reading_at.isoformat() if notice.reading_at else None,
        },
        "levels": {
            "T1": lv.t1,
            "T2": lv.t2,
            "T3": lv.t3,
            "velocity": round(lv.velocity, 4),
            "strategy": lv.basis.strategy,
            "disabled": lv.disabled,
        },
        "days_of_cover": None if cover is None or math.isinf(cover) else round(cover, 2),
        "suggestion": suggestion,
        "late": _late_view(notice, lang),
    }


def _late_view(notice: Notice, lang: str) -> dict[str, Any] | None:
    """Return the late order's figures and its lines in ``lang`` for the templates."""
    late = notice.late
    if late is None:
        return None
    return {
        "order": late.order_ref,
        "supplier": late.supplier,
        "expected_at": late.expected_at.isoformat(),
        "open_quantity": late.open_quantity,
        "days_late": round(late.days_late, 2),
        "shelf_days": None if late.shelf_days is None else round(late.shelf_days, 2),
        "escalated": late.escalated,
        "lines": [[k, v] for k, v in late_lines(late, lang)],
    }


class RouteTable:
    """``ports.Router`` over a list of routes."""

    def __init__(self, settings: RouterSettings) -> None:
        self.settings = settings
        for route in settings.routes:
            check_lang(route.lang)

    @property
    def routes(self) -> tuple[Route, ...]:
        return self.settings.routes

    def _message(self, notice: Notice, item: Item | None, route: Route) -> OutgoingMessage:
        """The route's message (``route`` gives each channel its own idempotency key)."""
        rendered = render(notice, item, route.lang)
        breaks = self.settings.price_breaks(item) if item and self.settings.price_breaks else ()
        payload = notice_payload(
            notice,
            item,
            route.lang,
            route.link_base,
            breaks,
            route.tz,
            self.settings.default_lead_time_days,
        )
        payload["route"] = route.name
        not_before = None
        quiet = route.quiet
        if quiet is not None and quiet.active(notice.at) and notice.tier not in quiet.bypass:
            not_before = quiet.ends_after(notice.at)
        return OutgoingMessage(
            title=rendered.title,
            text=rendered.text,
            markdown=rendered.markdown,
            idempotency_key=notice.idempotency_key,
            tier=notice.tier.name,
            kind=notice.kind.value,
            payload=payload,
            mention=notice.tier in route.mention_tiers and notice.kind is not NoticeKind.RESOLVED,
            not_before=not_before,
        )

    def route(self, notice: Notice, item: Item | None) -> list[tuple[str, OutgoingMessage]]:
        out: dict[str, OutgoingMessage] = {}
        for route in self.settings.routes:
            if not route.matches(notice, item):
                continue
            # The text and payload are the route's, not the channel's: render them once.
            rendered = self._message(notice, item, route)
            key = rendered.idempotency_key
            for channel in route.channels:
                message = _for_channel(rendered, f"{key}|{channel}")
                previous = out.get(channel)
                # Two routes on one channel: the one that may speak now (no quiet hours) wins.
                if previous is None or (previous.not_before and not message.not_before):
                    out[channel] = message
        return list(out.items())

    def daily_digests(
        self, now: datetime, at_risk: Sequence[tuple[Notice, Item | None]]
    ) -> list[tuple[str, OutgoingMessage]]:
        """Return today's digest per route whose digest time has passed (idempotent per day).

        ``at_risk`` holds one notice per item currently at T1 or worse (kind REMINDER is fine).
        The digest ranks them by days of cover, then tier, and lists every one.
        """
        out: list[tuple[str, OutgoingMessage]] = []
        for route in self.settings.routes:
            if route.digest_at is None:
                continue
            local = now.astimezone(route.tz)
            if local.time() < route.digest_at:
                continue
            chosen = [
                (n, i)
                for n, i in at_risk
                if n.tier is not Tier.OK and route.matches_item(i) and route._tier_ok(n.tier)
            ]
            chosen.sort(key=_urgency)
            if not chosen:
                continue
            payloads = [
                notice_payload(n, i, route.lang, route.link_base, tz=route.tz) for n, i in chosen
            ]
            out.extend(
                (channel, _daily_message(route, channel, local.date(), payloads, chosen))
                for channel in route.channels
            )
        return out


def _for_channel(m: OutgoingMessage, idempotency_key: str) -> OutgoingMessage:
    """``replace(m, idempotency_key=...)`` without its per-field introspection (a poll cycle
    makes ~10,000 of these); every field comes along, as in ``core.alerting._with``."""
    return OutgoingMessage(**{**m.__dict__, "idempotency_key": idempotency_key})


def _urgency(pair: tuple[Notice, Item | None]) -> tuple[float, int, str]:
    notice = pair[0]
    cover = notice.days_of_cover
    return (math.inf if cover is None else cover, -int(notice.tier), str(notice.key))


_DAILY_TITLE = {
    "zh-CN": "【每日库存风险日报】{day}，{n} 项",
    "en": "[Daily stock risk report] {day}, {n} items",
}


def _daily_message(
    route: Route,
    channel: str,
    day: date,
    payloads: list[dict[str, Any]],
    chosen: list[tuple[Notice, Item | None]],
) -> OutgoingMessage:
    title = _DAILY_TITLE[route.lang].format(day=day.isoformat(), n=len(payloads))
    lines = [render(n, i, route.lang) for n, i in chosen]
    worst = max((n.tier for n, _ in chosen), default=Tier.OK)
    return OutgoingMessage(
        title=title,
        text=title + "\n" + "\n".join(f"{k + 1}. {m.title}" for k, m in enumerate(lines)),
        markdown=f"### {title}\n" + "\n".join(f"{k + 1}. {m.title}" for k, m in enumerate(lines)),
        idempotency_key=f"daily|{route.name}|{day.isoformat()}|{channel}",
        tier=worst.name,
        kind="daily_digest",
        payload={
            "kind": "daily_digest",
            "lang": route.lang,
            "route": route.name,
            "notices": payloads,
        },
    )
