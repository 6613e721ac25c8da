"""What the review should tell a merchant to change, and the facts it stands on.

- Stockouts are found in what really happened, not only in OUT notices: a day that ended with
  stock 0 in the readings, or a run of at least two days without a single sale while the item
  usually sells enough that such a run is unlikely by chance (Poisson: no sale in n days has
  probability e^(−d̄·n); below 1 %, i.e. d̄·n ≥ 4.6, the shelf was most likely empty; real demand
  is burstier than Poisson, hence the strict cut) — unless a reading shows stock on those days.
- Per tier: how many notices, how long before the stockout the tier's first notice came
  (median and worst), and how long people took to acknowledge.
- Suggestions, ranked, each with the effect a backtest expects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stockwatch.core.model import ItemKey, NoticeKind, Tier

UNLIKELY_SILENCE = 4.6  # d̄·n: no sale in n days has probability e^-4.6 ≈ 1 %
MIN_SILENT_DAYS = 2
NOISY_NOTICES = 5  # notices in 30 days that count as noisy for an item that never ran out


@dataclass(frozen=True)
class StockoutSpan:
    """Days ``first``..``last`` (indexes into the period) when the item was most likely out."""

    first: int
    last: int
    reason: str  # "stock 0" or "sales stopped"

    @property
    def days(self) -> int:
        return self.last - self.first + 1


def detect_stockouts(
    stock: Sequence[int | None], sales: Sequence[int], expected_rate: float
) -> list[StockoutSpan]:
    """Return the spans of likely stockout days (see the module's rules)."""
    spans: list[StockoutSpan] = []
    n = len(sales)
    day = 0
    while day < n:
        level = stock[day] if day < len(stock) else None
        if level is not None and level <= 0:
            end = day
            while (
                end + 1 < n
                and end + 1 < len(stock)
                and (stock[end + 1] or 0) <= 0
                and (stock[end + 1] is not None)
            ):
                end += 1
            spans.append(StockoutSpan(day, end, "stock 0"))
            day = end + 1
            continue
        if sales[day] == 0 and expected_rate > 0:
            end = day
            while end + 1 < n and sales[end + 1] == 0:
                end += 1
            window = range(day, end + 1)
            shelf_seen = any(
                w < len(stock) and stock[w] is not None and (stock[w] or 0) > 0 for w in window
            )
            length = end - day + 1
            if (
                not shelf_seen
                and length >= MIN_SILENT_DAYS
                and expected_rate * length >= UNLIKELY_SILENCE
            ):
                spans.append(StockoutSpan(day, end, "sales stopped"))
            day = end + 1
            continue
        day += 1
    return spans


@dataclass(frozen=True)
class TierStats:
    tier: Tier
    notices: int
    median_warning: timedelta | None  # first notice at this tier → stockout
    worst_warning: timedelta | None  # the shortest of those
    median_ack: timedelta | None  # first notice of the episode → acknowledgement
    acks: int


@dataclass(frozen=True)
class TimedEvent:
    """An event of the log as the per-tier statistics need it (notices, OUT and acks)."""

    key: ItemKey
    kind: str
    tier: Tier
    at: datetime
    episode: int


_NOTICES = {NoticeKind.RAISED, NoticeKind.WORSENED, NoticeKind.REMINDER, NoticeKind.DROPPED}


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def tier_stats(events: Iterable[TimedEvent]) -> list[TierStats]:
    """Return notices, warning time and time to acknowledgement for T1, T2, T3 and OUT."""
    by_episode: dict[tuple[ItemKey, int], list[TimedEvent]] = {}
    for e in sorted(events, key=lambda e: e.at):
        by_episode.setdefault((e.key, e.episode), []).append(e)
    notices = dict.fromkeys((Tier.T1, Tier.T2, Tier.T3, Tier.OUT), 0)
    warnings: dict[Tier, list[timedelta]] = {t: [] for t in notices}
    acks: dict[Tier, list[timedelta]] = {t: [] for t in notices}
    for rows in by_episode.values():
        sent = [r for r in rows if r.kind in {k.value for k in _NOTICES}]
        for r in sent:
            if r.tier in notices:
                notices[r.tier] += 1
        out_at = next((r.at for r in sent if r.tier is Tier.OUT), None)
        if out_at is not None:
            for tier in (Tier.T1, Tier.T2, Tier.T3):
                first = next((r.at for r in sent if r.tier is tier), None)
                if first is not None and first <= out_at:
                    warnings[tier].append(out_at - first)
        ack = next((r for r in rows if r.kind == "ack"), None)
        if ack is not None and sent:
            before = [r for r in sent if r.at <= ack.at]
            if before:
                worst = max(r.tier for r in before)
                acks[worst].append(ack.at - before[0].at)
    return [
        TierStats(
            tier,
            notices[tier],
            _median(warnings[tier]),
            min(warnings[tier]) if warnings[tier] else None,
            _median(acks[tier]),
            len(acks[tier]),
        )
        for tier in notices
    ]


@dataclass(frozen=True)
class Effect:
    """What a backtest of the change expects, relative to the policy in force."""

    stockout_days_before: int
    stockout_days_after: int
    stock_days_change: float | None  # + days of stock held
    notices_before: int
    notices_after: int

    @property
    def stockout_change(self) -> float | None:
        before = self.stockout_days_before
        return None if before == 0 else (self.stockout_days_after - before) / before

    @property
    def notices_change(self) -> float | None:
        before = self.notices_before
        return None if before == 0 else (self.notices_after - before) / before


@dataclass(frozen=True)
class Suggestion:
    kind: str  # "raise_service_level", "lower_t1", "supplier_late"
    items: tuple[str, ...]
    facts: dict[str, float | str] = field(default_factory=dict)
    effect: Effect | None = None

    @property
    def weight(self) -> float:
        """Ranking: stockout days avoided count most, then notices saved; without a backtest
        (nothing of the shop's history to replay), lateness."""
        if self.effect is not None:
            avoided = self.effect.stockout_days_before - self.effect.stockout_days_after
            saved = self.effect.notices_before - self.effect.notices_after
            return avoided * 10 + saved
        return float(self.facts.get("late_share", 0)) * 10


def _useful(s: Suggestion) -> bool:
    """Keep a change only when the backtest expects it to do what it is for."""
    e = s.effect
    if e is None:
        return True
    if s.kind == "raise_service_level":
        return e.stockout_days_after < e.stockout_days_before
    if s.kind == "lower_t1":
        return (
            e.notices_after < e.notices_before and e.stockout_days_after <= e.stockout_days_before
        )
    if s.kind == "supplier_late":  # believing the learned lead time must avoid stockout days
        return e.stockout_days_after < e.stockout_days_before
    return s.weight > 0


def rank(suggestions: Iterable[Suggestion]) -> list[Suggestion]:
    """Most useful first; a change the backtest expects to do no good is dropped."""
    useful = [s for s in suggestions if _useful(s)]
    return sorted(useful, key=lambda s: (-s.weight, s.kind, s.items))


def supplier_lateness(
    orders: Sequence[tuple[str, float, float]],
) -> dict[str, tuple[int, int, float]]:
    """Per supplier from (supplier, promised days, actual days) of received orders: (orders,
    late orders, mean actual lead time). Late means more than a day after the promise."""
    out: dict[str, list[tuple[float, float]]] = {}
    for supplier, promised, actual in orders:
        if math.isfinite(promised) and math.isfinite(actual):
            out.setdefault(supplier, []).append((promised, actual))
    return {
        s: (
            len(rows),
            sum(1 for p, a in rows if a > p + 1),
            sum(a for _, a in rows) / len(rows),
        )
        for s, rows in out.items()
    }


_TEXT: dict[str, tuple[str, str]] = {
    "raise_service_level": (
        "提高这 {n} 个商品的服务水平（{items}）：期间断货 {stockouts} 次；"
        "回测预计断货天数 {stockout_change}，库存 {stock_change} 天",
        "Raise the service level of these {n} items ({items}): they ran out {stockouts} "
        "time(s); a backtest expects {stockout_change} stockout days for {stock_change} days of "
        "stock",
    ),
    "lower_t1": (
        "这 {n} 个商品（{items}）30 天内被通知 {notices} 次却从未断货：调低 T1；"
        "回测预计通知 {notices_change}，断货天数 {stockout_after}",
        "These {n} items ({items}) were notified {notices} times in 30 days and never ran out: "
        "lower T1; a backtest expects {notices_change} notices with {stockout_after} stockout "
        "days",
    ),
    "supplier_late": (
        "供应商 {supplier} 有 {late_pct} 的订单迟到："
        "实际平均交期 {learned} 天，而不是 {declared} 天",
        "Supplier {supplier} is late on {late_pct} of orders: its learned lead time is "
        "{learned} days, not {declared}",
    ),
}
# Appended when a backtest of the change is known (replay with the learned lead time).
_EFFECT_TEXT: dict[str, tuple[str, str]] = {
    "supplier_late": (
        "；按学到的交期计算预警线（{n} 个商品），回测预计断货天数 {stockout_change}，"
        "库存 {stock_change} 天",
        "; with the learned lead time in the levels of its {n} item(s), a backtest expects "
        "{stockout_change} stockout days for {stock_change} days of stock",
    ),
}


def _pct(value: float | None) -> str:
    return "±0 %" if value is None or value == 0 else f"{value:+.0%}".replace("%", " %")


def describe(s: Suggestion, lang: str) -> str:
    """One sentence for the merchant (zh-CN or en)."""
    zh, en = _TEXT[s.kind]
    shown = list(s.items[:6]) + (["…"] if len(s.items) > 6 else [])
    values: dict[str, object] = {"n": len(s.items), "items": ", ".join(shown), **s.facts}
    if s.effect is not None:
        e = s.effect
        values["stockout_change"] = _pct(e.stockout_change)
        values["notices_change"] = _pct(e.notices_change)
        values["stockout_after"] = e.stockout_days_after
        change = e.stock_days_change
        values["stock_change"] = "±0" if change is None else f"{change:+.1f}"
    if "late_share" in s.facts:
        values["late_pct"] = f"{float(s.facts['late_share']):.0%}"
    if s.effect is not None and s.kind in _EFFECT_TEXT:
        zh_more, en_more = _EFFECT_TEXT[s.kind]
        zh, en = zh + zh_more, en + en_more
    return (en if lang == "en" else zh).format(**values)
