"""Candidate policies for a backtest, the metrics that compare them, and the trade-off frontier.

A candidate is the policy in force with a few settings changed (strategy, service level or a
fill-rate target, buffer, velocity window, intermittent method, tier levels), plus the notice
settings a daily replay understands (debounce and dedupe in days) and where lead times come
from (declared in the catalogue, or learned from received purchase orders).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from statistics import NormalDist
from typing import Any

from stockwatch.core.backtest import DAYS_PER_MONTH, SimOutcome, SimParams, simulate
from stockwatch.core.model import Item, TierLevels
from stockwatch.core.thresholds import (
    MAX_SERVICE_LEVEL,
    MIN_SERVICE_LEVEL,
    Promotion,
    Strategy,
    ThresholdPolicy,
    TierSpec,
    check_service_level,
    compute_levels,
)

LEAD_MODELS = ("declared", "learned")
# ThresholdPolicy fields a candidate may change, and how to read them from text (CLI, TOML).
TUNABLE: dict[str, type] = {
    "strategy": Strategy,
    "service_level": float,
    "buffer_days": float,
    "buffer_units": float,
    "velocity_days": int,
    "window_days": int,
    "intermittent_method": str,
    "review_days": float,
}


@dataclass(frozen=True)
class Candidate:
    """One policy to replay: settings changed from the policy in force, and notice rules."""

    name: str
    settings: tuple[tuple[str, Any], ...] = ()  # ThresholdPolicy field → value
    tiers: tuple[tuple[str, TierSpec], ...] = ()  # T1/T2/T3 specs replacing the policy's
    fill_rate: float | None = None  # β target: each item's α is chosen to reach it
    lead_model: str = "declared"
    debounce_t1: int = 1
    debounce_t2: int = 1
    dedupe_days: int = 1

    def __post_init__(self) -> None:
        for name, _ in self.settings:
            if name not in TUNABLE:
                raise ValueError(f"{name!r} cannot be tuned; use one of {', '.join(TUNABLE)}")
        if self.fill_rate is not None and not 0.5 <= self.fill_rate < 1:
            raise ValueError(f"fill-rate target must be in [0.5, 1), got {self.fill_rate}")
        if self.lead_model not in LEAD_MODELS:
            raise ValueError(
                f"lead-time model must be declared or learned, not {self.lead_model!r}"
            )
        if min(self.debounce_t1, self.debounce_t2, self.dedupe_days) < 1:
            raise ValueError("debounce and dedupe must be at least 1 day")

    def policy(self, base: ThresholdPolicy) -> ThresholdPolicy:
        """Return ``base`` with this candidate's settings (may raise ValueError on a clash)."""
        changed = dict(self.settings)
        if self.tiers:
            changed["tiers"] = tuple({**dict(base.tiers), **dict(self.tiers)}.items())
        return replace(base, **changed) if changed else base

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.settings]
        parts += [f"{k}={v}" for k, v in self.tiers]
        if self.fill_rate is not None:
            parts.append(f"fill_rate={self.fill_rate:g}")
        if self.lead_model != "declared":
            parts.append(f"lead={self.lead_model}")
        if (self.debounce_t1, self.debounce_t2) != (1, 1):
            parts.append(f"debounce={self.debounce_t1}/{self.debounce_t2}d")
        if self.dedupe_days != 1:
            parts.append(f"dedupe={self.dedupe_days}d")
        return ", ".join(parts) or "-"


def parse_setting(name: str, text: str) -> Any:
    """Read one tunable setting from text; the error names the setting."""
    kind = TUNABLE.get(name)
    if kind is None:
        raise ValueError(f"{name!r} cannot be tuned; use one of {', '.join(TUNABLE)}")
    try:
        value = kind(text.strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a valid value") from None
    if name == "intermittent_method" and value not in ("empirical", "normal"):
        raise ValueError(f"{name}: use empirical or normal, not {text!r}")
    if name == "service_level":
        check_service_level(value)
    elif kind in (int, float) and (not math.isfinite(value) or value < 0):
        raise ValueError(f"{name}: must be a number ≥ 0, got {text!r}")
    return value


@dataclass(frozen=True)
class Metrics:
    """What a policy did over the replay, summed over items (or for one item)."""

    items: int
    days: int
    demand: int
    sold: int
    lost: int
    stockout_days: int
    notices: int
    orders: int
    units_ordered: int
    stock_sum: int  # Σ end-of-day units on hand
    value_sum: float = 0.0  # Σ end-of-day stock value over items with a known price
    priced: int = 0  # items with a known price

    @classmethod
    def of(cls, outcome: SimOutcome, price: float | None = None) -> Metrics:
        known = price is not None and math.isfinite(price)
        return cls(
            items=1,
            days=outcome.days,
            demand=outcome.demand,
            sold=outcome.sold,
            lost=outcome.lost,
            stockout_days=outcome.stockout_days,
            notices=outcome.notices,
            orders=outcome.orders,
            units_ordered=outcome.units_ordered,
            stock_sum=outcome.stock_sum,
            value_sum=outcome.stock_sum * price if known and price is not None else 0.0,
            priced=1 if known else 0,
        )

    @classmethod
    def total(cls, parts: Iterable[Metrics]) -> Metrics:
        rows = list(parts)
        return cls(
            items=sum(m.items for m in rows),
            days=max((m.days for m in rows), default=0),
            demand=sum(m.demand for m in rows),
            sold=sum(m.sold for m in rows),
            lost=sum(m.lost for m in rows),
            stockout_days=sum(m.stockout_days for m in rows),
            notices=sum(m.notices for m in rows),
            orders=sum(m.orders for m in rows),
            units_ordered=sum(m.units_ordered for m in rows),
            stock_sum=sum(m.stock_sum for m in rows),
            value_sum=sum(m.value_sum for m in rows),
            priced=sum(m.priced for m in rows),
        )

    @property
    def fill_rate(self) -> float:
        return 1.0 if self.demand == 0 else self.sold / self.demand

    @property
    def stock_days(self) -> float | None:
        """Stock held, in days of demand: mean stock on hand ÷ mean daily demand."""
        if self.demand == 0 or self.days == 0:
            return None
        return self.stock_sum / self.demand

    @property
    def mean_stock(self) -> float:
        return self.stock_sum / self.days if self.days else 0.0

    @property
    def stock_value(self) -> float | None:
        """Mean value of the stock held (items with a known price only)."""
        if not self.priced or not self.days:
            return None
        return self.value_sum / self.days

    @property
    def notices_per_item_month(self) -> float:
        if not self.items or not self.days:
            return 0.0
        return self.notices / self.items / self.days * DAYS_PER_MONTH

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "days": self.days,
            "demand": self.demand,
            "sold": self.sold,
            "lost_units": self.lost,
            "fill_rate": round(self.fill_rate, 6),
            "stockout_days": self.stockout_days,
            "notices": self.notices,
            "notices_per_item_month": round(self.notices_per_item_month, 4),
            "orders": self.orders,
            "units_ordered": self.units_ordered,
            "mean_stock_units": round(self.mean_stock, 3),
            "stock_days": None if self.stock_days is None else round(self.stock_days, 3),
            "stock_value": None if self.stock_value is None else round(self.stock_value, 2),
        }


def frontier(points: Mapping[str, tuple[float, float, float]]) -> list[str]:
    """Return the names no other point beats on every axis (all axes: lower is better).

    Axes are stockout days, stock held and notices: the trade-off a merchant chooses on.
    """
    names = list(points)
    keep = []
    for name in names:
        p = points[name]
        dominated = any(
            all(q[i] <= p[i] for i in range(3)) and any(q[i] < p[i] for i in range(3))
            for other, q in points.items()
            if other != name
        )
        if not dominated:
            keep.append(name)
    return sorted(keep, key=lambda n: points[n])


def learned_lead_time(samples: Sequence[float]) -> tuple[float, float] | None:
    """Return (mean, sample σ) of observed lead times in days; None without any sample.

    σ is capped at the mean: a larger σ would let the safety-stock model assume negative lead
    times (inventory-math §5).
    """
    clean = [float(x) for x in samples if math.isfinite(x) and x >= 0]
    if not clean:
        return None
    n = len(clean)
    mean = math.fsum(clean) / n
    # Plain floats: statistics.stdev works in exact fractions, 100× slower per item.
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in clean) / (n - 1)) if n >= 2 else 0.0
    return mean, min(sd, mean)


def standard_normal_loss(z: float) -> float:
    """G(z) = φ(z) − z·(1 − Φ(z)): expected shortage per unit σ (inventory-math §2.6)."""
    nd = NormalDist()
    return nd.pdf(z) - z * (1 - nd.cdf(z))


def service_level_for_fill_rate(beta: float, sd_lead_time: float, order_qty: float) -> float:
    """Return the cycle service level α whose safety stock reaches fill rate β.

    Solves G(z) = (1−β)·Q/σLT by bisection (G decreases in z), then α = Φ(z), clamped to the
    range the threshold maths accepts. No variability or no order size: the lowest α.
    """
    if sd_lead_time <= 0 or order_qty <= 0:
        return MIN_SERVICE_LEVEL
    target = (1 - beta) * order_qty / sd_lead_time
    lo, hi = NormalDist().inv_cdf(MIN_SERVICE_LEVEL), NormalDist().inv_cdf(MAX_SERVICE_LEVEL)
    if standard_normal_loss(lo) <= target:
        return MIN_SERVICE_LEVEL
    if standard_normal_loss(hi) >= target:
        return MAX_SERVICE_LEVEL
    for _ in range(60):
        mid = (lo + hi) / 2
        if standard_normal_loss(mid) > target:
            lo = mid
        else:
            hi = mid
    return min(max(NormalDist().cdf(hi), MIN_SERVICE_LEVEL), MAX_SERVICE_LEVEL)


@dataclass(frozen=True)
class ItemReplay:
    """One item's history as the replay needs it (the per-item reference's input)."""

    item: Item | None
    sku: str
    before: Sequence[int]  # daily sales before the replay (for the levels), oldest first
    demand: Sequence[int]  # daily sales during the replay
    lead_days: Sequence[int]  # lead time of an order placed on each replay day
    start_on_hand: int
    lead_samples: Sequence[float] = ()  # observed lead times (received purchase orders)


def item_for(candidate: Candidate, item: Item | None, lead_samples: Sequence[float]) -> Item | None:
    """Return the item with the lead time the candidate's lead-time model believes."""
    if candidate.lead_model != "learned" or item is None:
        return item
    learned = learned_lead_time(lead_samples)
    if learned is None:
        return item  # nothing received yet: the declared lead time (or the default) stands
    return replace(item, lead_time_days=learned[0], lead_time_sd_days=learned[1])


def candidate_levels(
    candidate: Candidate,
    base: ThresholdPolicy,
    replay: ItemReplay,
    as_of: date,
    promotions: Sequence[Promotion] = (),
) -> tuple[TierLevels, float]:
    """Return the levels the candidate gives the item at ``as_of`` and its order-up-to level."""
    policy = candidate.policy(base)
    item = item_for(candidate, replay.item, replay.lead_samples)
    levels = compute_levels(policy, replay.before, as_of, item, promotions)
    if candidate.fill_rate is not None and not levels.disabled:
        inputs = dict(levels.basis.inputs)
        d, sd, lead, lead_sd, review = (inputs[k] for k in ("d", "sd", "L", "sL", "R"))
        sd_lt = math.sqrt((lead + review) * sd * sd + d * d * lead_sd * lead_sd)
        order_qty = max(inputs["k"] + d * lead, 1.0)
        alpha = round(service_level_for_fill_rate(candidate.fill_rate, sd_lt, order_qty), 4)
        policy = replace(policy, service_level=alpha)
        levels = compute_levels(policy, replay.before, as_of, item, promotions)
    lead = dict(levels.basis.inputs).get("L", 0.0)
    return levels, levels.t1 + levels.order_rate * lead


def replay_item(
    candidate: Candidate,
    base: ThresholdPolicy,
    replay: ItemReplay,
    as_of: date,
    promotions: Sequence[Promotion] = (),
    *,
    trace: bool = False,
    recompute_days: Sequence[int] = (),
) -> SimOutcome:
    """The per-item reference backtest: levels at the start of the replay, then the simulation.

    ``recompute_days`` (day offsets into the replay) recompute the levels as the daemon would
    on its schedule: from the sales known the day before, over the same window width as
    ``replay.before``, as of that day.
    """

    def params_at(day: int) -> SimParams:
        history = list(replay.before) + list(replay.demand[:day])
        width = len(replay.before)
        seen = replace(replay, before=history[len(history) - width :] if width else [])
        levels, up_to = candidate_levels(
            candidate, base, seen, as_of + timedelta(days=day), promotions
        )
        return SimParams(
            t1=levels.t1,
            t2=levels.t2,
            t3=levels.t3,
            order_up_to=up_to if not levels.disabled else 0.0,
            min_order_qty=replay.item.min_order_qty if replay.item else 1,
            order_multiple=replay.item.order_multiple if replay.item else 1,
            debounce_t1=candidate.debounce_t1,
            debounce_t2=candidate.debounce_t2,
            dedupe_days=candidate.dedupe_days,
            disabled=levels.disabled,
        )

    changes = [(day, params_at(day)) for day in sorted(set(recompute_days)) if day > 0]
    return simulate(
        replay.demand,
        replay.lead_days,
        replay.start_on_hand,
        params_at(0),
        trace=trace,
        changes=changes,
    )
