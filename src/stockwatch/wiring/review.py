"""The review that tells what to change: stockouts found in readings and sales, per-tier figures,
and suggestions whose expected effect comes from a backtest of the shop's own history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine

from stockwatch.bulk.sweep import ReplayData, SweepResult, run_sweep
from stockwatch.config.settings import Config
from stockwatch.core.model import Item, NoticeKind, Tier
from stockwatch.core.review import AlertReview
from stockwatch.core.review_advice import (
    NOISY_NOTICES,
    Effect,
    StockoutSpan,
    Suggestion,
    TierStats,
    TimedEvent,
    detect_stockouts,
    rank,
    supplier_lateness,
    tier_stats,
)
from stockwatch.core.thresholds import ThresholdPolicy
from stockwatch.core.tuning import Candidate
from stockwatch.ports import Store
from stockwatch.wiring.backtest import (
    HistoryError,
    Period,
    load_replay,
    policy_groups,
    received_orders,
    schedule,
)

_ALL = 10_000_000
RATE_DAYS = 28  # the expected daily demand before the period: the mean of these days
HIGH_SERVICE_LEVEL = 0.99


@dataclass(frozen=True)
class DetectedStockout:
    item: str
    first: date
    last: date
    reason: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass
class ReviewAdvice:
    stockouts: list[DetectedStockout] = field(default_factory=list)
    tiers: list[TierStats] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    default_lead: list[str] = field(default_factory=list)  # items judged with the default
    note: str = ""  # why something could not be judged (no sales history, ...)


def timed_events(store: Store, since: datetime | None) -> list[TimedEvent]:
    kinds = {k.value for k in NoticeKind} | {"ack"}
    return [
        TimedEvent(e.item_key, e.kind, Tier.parse(e.tier), e.at, e.episode)
        for e in store.events(since=since, limit=_ALL)
        if e.kind in kinds
    ]


def _subset(data: ReplayData, rows: list[int]) -> ReplayData:
    pick = np.asarray(rows, dtype=np.int64)
    return ReplayData(
        skus=[data.skus[i] for i in rows],
        items=[data.items[i] for i in rows],
        before=data.before[pick],
        demand=data.demand[pick],
        start_on_hand=np.asarray(data.start_on_hand)[pick],
        as_of=data.as_of,
        prices=None if data.prices is None else data.prices[pick],
        lead_samples=[data.lead_samples[i] for i in rows],
        actual_on_hand=None if data.actual_on_hand is None else data.actual_on_hand[pick],
        promotions=data.promotions,
        names=[data.names[i] for i in rows],
    )


def _effect(result: SweepResult) -> Effect:
    totals = list(result.totals().values())
    before, after = totals[0], totals[1]
    change = (
        None
        if before.stock_days is None or after.stock_days is None
        else after.stock_days - before.stock_days
    )
    return Effect(before.stockout_days, after.stockout_days, change, before.notices, after.notices)


def review_advice(
    config: Config,
    engine: Engine,
    store: Store,
    review: AlertReview,
    since: datetime,
    until: datetime,
) -> ReviewAdvice:
    """Find stockouts, compute the per-tier figures and the ranked suggestions."""
    tz = ZoneInfo(config.model.general.timezone)
    advice = ReviewAdvice(tiers=tier_stats(timed_events(store, since)))
    advice.default_lead = sorted(str(k) for k in review.default_lead)
    start = since.astimezone(tz).date()
    days = max((until.astimezone(tz).date() - start).days, 1)
    try:
        period, _ = load_replay(config, engine, start=start, days=days)
        history, _ = load_replay(config, engine)  # the last 60 days of sales: for the effects
    except HistoryError as exc:
        advice.note = str(exc)
        return advice
    last_sale = _last_sales_day(history)
    ran_out: set[str] = {str(e.key) for e in review.episodes if e.stockout_at is not None}
    # Sales can only tell about days the sales history covers; readings about every day.
    judged = min(days, max((last_sale - start).days + 1, 0)) if last_sale else 0
    for row, name in enumerate(period.names):
        real = [] if period.actual_on_hand is None else period.actual_on_hand[row].tolist()
        stock = [None if v < 0 else int(v) for v in real] or [None] * days
        rate = float(period.before[row, -RATE_DAYS:].mean()) if period.before.shape[1] else 0.0
        sales = period.demand[row, :judged].tolist()
        spans = detect_stockouts(stock[:judged], sales, rate)
        later = detect_stockouts(stock[judged:], [1] * (days - judged), 0.0)
        spans += [StockoutSpan(s.first + judged, s.last + judged, s.reason) for s in later]
        for span in spans:
            advice.stockouts.append(
                DetectedStockout(
                    name,
                    start + timedelta(days=span.first),
                    start + timedelta(days=span.last),
                    span.reason,
                )
            )
            ran_out.add(name)
    # The effects replay the last 60 days with the levels recomputed on the daemon's schedule.
    recompute = schedule(config, Period(history.as_of, history.days))
    index = {name: i for i, name in enumerate(history.names)}
    resolve = config.threshold_policy
    groups = policy_groups(config)
    out_rows = sorted(index[n] for n in ran_out if n in index)
    suggestions: list[Suggestion] = []
    if out_rows:
        sub = _subset(history, out_rows)
        result = run_sweep(
            sub,
            [Candidate("in force"), Candidate("raise", (("service_level", HIGH_SERVICE_LEVEL),))],
            resolve,
            group_of=groups,
            recompute_days=recompute,
        )
        count = sum(1 for e in review.episodes if e.stockout_at is not None) + len(advice.stockouts)
        suggestions.append(
            Suggestion(
                "raise_service_level",
                tuple(sub.names),
                {"stockouts": count},
                _effect(result),
            )
        )
    span_days = max((until - since).total_seconds() / 86400, 1.0)
    noisy = [
        str(k)
        for k, n in review.notices_per_item.items()
        if n / span_days * 30 >= NOISY_NOTICES and str(k) not in ran_out and str(k) in index
    ]
    if noisy:
        rows = sorted(index[n] for n in noisy)
        sub = _subset(history, rows)
        result = run_sweep(
            sub,
            [Candidate("in force"), Candidate("lower T1", (("buffer_days", 0.0),))],
            resolve,
            group_of=groups,
            recompute_days=recompute,
        )
        notices = sum(n for k, n in review.notices_per_item.items() if str(k) in noisy)
        suggestions.append(
            Suggestion("lower_t1", tuple(sub.names), {"notices": notices}, _effect(result))
        )
    suggestions += supplier_suggestions(engine, history, resolve, groups, recompute)
    advice.suggestions = rank(suggestions)
    return advice


LATE_SHARE = 0.3  # a supplier late on this share of its received orders gets a suggestion
MIN_ORDERS = 3


def supplier_suggestions(
    engine: Engine,
    history: ReplayData,
    resolve: Callable[[Item | None, str], ThresholdPolicy],
    groups: Callable[[Item | None, str], object],
    recompute: Sequence[int] = (),
) -> list[Suggestion]:
    """Suppliers late on many received orders: their learned lead time against the promise,
    with the effect a replay of the supplier's items expects from levels computed with the
    learned lead time instead of the declared one (orders arrive as late as they really did
    under both, so the difference is the levels')."""
    day = timedelta(days=1)
    rows = [
        (o.supplier, (o.expected_at - o.ordered_at) / day, o.lead_time_days)
        for o in received_orders(engine)
        if o.supplier and o.lead_time_days is not None
    ]
    promised: dict[str, list[float]] = {}
    for supplier, days, _ in rows:
        promised.setdefault(supplier, []).append(days)
    out = []
    for supplier, (n, late, mean) in sorted(supplier_lateness(rows).items()):
        if n < MIN_ORDERS or late / n < LATE_SHARE:
            continue
        supplied = [
            row
            for row, item in enumerate(history.items)
            if item is not None and item.supplier == supplier
        ]
        effect = None
        if supplied:
            sub = _subset(history, supplied)
            result = run_sweep(
                sub,
                [Candidate("in force"), Candidate("learned lead", lead_model="learned")],
                resolve,
                group_of=groups,
                recompute_days=recompute,
            )
            effect = _effect(result)
        declared = sum(promised[supplier]) / len(promised[supplier])
        out.append(
            Suggestion(
                "supplier_late",
                tuple(history.names[row] for row in supplied) or (supplier,),
                {
                    "supplier": supplier,
                    "late_share": late / n,
                    "learned": round(mean, 1),
                    "declared": round(declared, 1),
                },
                effect,
            )
        )
    return out


def _last_sales_day(data: ReplayData) -> date | None:
    """The last day of the default replay is the last day with sales data."""
    return data.as_of + timedelta(days=data.days - 1) if data.days else None
