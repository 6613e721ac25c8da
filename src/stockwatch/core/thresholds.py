"""Threshold strategies: from sales history and a policy to tier levels with their basis.

Units: time in days, demand in units/day, stock and thresholds in units. Levels are rounded up
to whole units only at the end. σ is the *sample* standard deviation (ddof = 1) computed from
exact integer moments, ``var = (n·S2 − S1²) / (n·(n−1))``; the bulk numpy path uses the same
formula, so both agree to rounding. This module is the per-item reference implementation.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from statistics import NormalDist

from stockwatch.core.baseline import day_marks, dropped_days_notes
from stockwatch.core.leadtime import (
    LearnedLeadTime,
    demand_quantile,
    fill_rate_level,
    lead_time_parts,
)
from stockwatch.core.model import Basis, Item, Step, TierLevels
from stockwatch.core.promotions import (  # re-exported: promotions used to live here
    Promotion,
    Uplift,
    promotion_multiplier,
    promotion_uplift,
)

__all__ = ["Promotion", "Uplift", "promotion_multiplier", "promotion_uplift"]

MIN_SERVICE_LEVEL = 0.5
MAX_SERVICE_LEVEL = 0.9999
SBC_ADI = 1.32  # Syntetos–Boylan–Croston cut-offs
SBC_CV2 = 0.49


class Strategy(enum.StrEnum):
    FIXED = "fixed"
    SAFETY_STOCK = "safety_stock"  # seed: T = Z·σ·√L + k
    REORDER_POINT = "reorder_point"  # seed: T = D·L + buffer (default)
    DAYS_OF_COVER = "days_of_cover"  # seed: stock < 7-day velocity × replenishment days
    COMBINED = "combined"  # the most cautious of several


class TierSpecKind(enum.StrEnum):
    ABSOLUTE = "absolute"  # "120": 120 units
    MULTIPLE = "multiple"  # "1.5x": 1.5 × the computed threshold (T2 of the strategy)
    DAYS = "days"  # "3d": 3 days of cover at the demand rate
    LEAD = "lead"  # "lead" or "lead+2d": days of cover < lead time (+ extra days)


@dataclass(frozen=True)
class TierSpec:
    """How one tier's level is set, when not by the strategy itself."""

    kind: TierSpecKind
    value: float

    @classmethod
    def parse(cls, text: str | float) -> TierSpec:
        """Parse ``120``, ``"1.5x"``, ``"3d"``, ``"lead"`` or ``"lead+2d"``."""
        if isinstance(text, int | float):
            return cls._checked(TierSpecKind.ABSOLUTE, float(text))
        raw = text.strip().lower().replace(" ", "")
        try:
            if raw.startswith("lead"):
                extra = raw[4:]
                days = 0.0
                if extra:
                    if not (extra[0] in "+-" and extra.endswith("d")):
                        raise ValueError
                    days = float(extra[:-1])
                return cls(TierSpecKind.LEAD, days)
            if raw.endswith("x"):
                return cls._checked(TierSpecKind.MULTIPLE, float(raw[:-1]))
            if raw.endswith("d"):
                return cls._checked(TierSpecKind.DAYS, float(raw[:-1]))
            return cls._checked(TierSpecKind.ABSOLUTE, float(raw))
        except ValueError:
            raise ValueError(
                f"bad tier level {text!r}: use units (120), a multiple of the threshold "
                f"(1.5x), days of cover (3d) or the lead time (lead, lead+2d)"
            ) from None

    @classmethod
    def _checked(cls, kind: TierSpecKind, value: float) -> TierSpec:
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"tier level must be a positive number, got {value}")
        return cls(kind, value)

    def __str__(self) -> str:
        if self.kind is TierSpecKind.ABSOLUTE:
            return f"{self.value:g}"
        if self.kind is TierSpecKind.MULTIPLE:
            return f"{self.value:g}x"
        if self.kind is TierSpecKind.DAYS:
            return f"{self.value:g}d"
        return "lead" if self.value == 0 else f"lead{self.value:+g}d"


@dataclass(frozen=True)
class ManualLevels:
    """Hand-set levels that always win; ``threshold = 0`` disables the item."""

    t1: int | None = None
    t2: int | None = None
    t3: int | None = None
    threshold: int | None = None

    def __post_init__(self) -> None:
        for name in ("t1", "t2", "t3", "threshold"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"manual {name} must not be negative, got {value}")
        given = [(n, v) for n, v in (("T1", self.t1), ("T2", self.t2), ("T3", self.t3)) if v]
        for (upper, a), (lower, b) in itertools.pairwise(given):
            if a < b:
                raise ValueError(f"manual levels out of order: {upper}={a} is below {lower}={b}")

    @property
    def disables(self) -> bool:
        return self.threshold == 0


@dataclass(frozen=True)
class ThresholdPolicy:
    """How to compute one item's levels. Resolved per item from defaults, class and category."""

    strategy: Strategy = Strategy.REORDER_POINT
    combine: tuple[Strategy, ...] = (Strategy.REORDER_POINT, Strategy.DAYS_OF_COVER)
    service_level: float = 0.95
    lead_time_days: float = 7.0
    lead_time_sd_days: float = 0.0
    review_days: float = 0.0  # time from a reading to an order; L + R = 0 uses R = 1
    buffer_days: float = 2.0  # k = d̄ · buffer_days + buffer_units
    buffer_units: float = 0.0
    attention_days: float = 3.0  # safety_stock strategy: T1 = SS + k + d̄ · attention_days
    cover_t3_days: float = 2.0  # days_of_cover strategy: T3 = velocity · cover_t3_days
    window_days: int = 90
    velocity_days: int = 7
    # Orders are sized from the clean mean of this many recent days (d_order), not from the
    # 7-day velocity: a month's order sized from one noisy week is biased up (an order goes out
    # when the week ran high) and a promotion's uplift would be bought for a whole month.
    order_rate_days: int = 28
    min_selling_days: int = 2  # below this many selling days in the velocity window, use the mean
    min_history_days: int = 14
    new_item_daily_sales: float = 1.0
    new_item_days: float | None = None  # rule "daily sales estimate × days" for T2 of new items
    intermittent_method: str = "empirical"  # or "normal"
    # A fill-rate target β (the share of demand served from the shelf) instead of the cycle
    # service level: the reorder point is the lowest level whose expected shortage per order
    # cycle, E[(D − ROP)⁺] over the lead-time demand distribution, is at most (1 − β)·Q. With
    # month-sized orders β = 99 % needs far less safety stock than a 95 % cycle service level.
    fill_rate: float | None = None
    # The same target for intermittent items only (SBC ADI > 1.32, empirical lead-time demand),
    # the others keep the service level: a lumpy item's shortage is a whole order or none, and
    # the α-quantile of a few dozen order windows is their largest one or two.
    intermittent_fill_rate: float | None = None
    # Orders cover at least this many days of demand (the merchant's order cycle; 0: one lead
    # time). Q of the fill rate and the quantity ``replenishment.suggest`` proposes.
    order_cycle_days: float = 0.0
    fixed_threshold: float | None = None
    tiers: tuple[tuple[str, TierSpec], ...] = ()  # e.g. (("T1", TierSpec.parse("1.5x")),)
    t3_floor: int = 1
    manual: ManualLevels | None = None

    def __post_init__(self) -> None:
        check_service_level(self.service_level)
        if self.lead_time_days < 0 or not math.isfinite(self.lead_time_days):
            raise ValueError(f"lead_time_days must be ≥ 0, got {self.lead_time_days}")
        if self.lead_time_sd_days < 0:
            raise ValueError(f"lead_time_sd_days must be ≥ 0, got {self.lead_time_sd_days}")
        if self.lead_time_sd_days > self.lead_time_days:
            # σL > L lets the model assume negative lead times: a data error (inventory-math §5).
            raise ValueError(
                f"lead_time_sd_days ({self.lead_time_sd_days:g}) is larger than lead_time_days "
                f"({self.lead_time_days:g}); check the supplier's lead-time data"
            )
        for name in ("review_days", "buffer_days", "buffer_units", "attention_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if self.cover_t3_days <= 0:
            raise ValueError("cover_t3_days must be > 0")
        if not 2 <= self.window_days <= 3660:
            raise ValueError(f"window_days must be between 2 and 3660, got {self.window_days}")
        if not 1 <= self.velocity_days <= self.window_days:
            raise ValueError("velocity_days must be between 1 and window_days")
        if self.order_rate_days < 1:  # longer than the window: the window's mean
            raise ValueError(f"order_rate_days must be ≥ 1, got {self.order_rate_days}")
        if self.min_selling_days < 0 or self.min_history_days < 0:
            raise ValueError("min_selling_days and min_history_days must be ≥ 0")
        if self.new_item_daily_sales < 0:
            raise ValueError("new_item_daily_sales must be ≥ 0")
        if self.new_item_days is not None and self.new_item_days <= 0:
            raise ValueError("new_item_days must be > 0")
        for name in ("fill_rate", "intermittent_fill_rate"):
            value = getattr(self, name)
            if value is not None and not MIN_SERVICE_LEVEL <= value <= MAX_SERVICE_LEVEL:
                raise ValueError(
                    f"{name} must be between {MIN_SERVICE_LEVEL} and {MAX_SERVICE_LEVEL}, "
                    f"got {value}"
                )
        if not 0 <= self.order_cycle_days <= 3660:
            raise ValueError(
                f"order_cycle_days must be between 0 and 3660, got {self.order_cycle_days}"
            )
        if self.intermittent_method not in ("empirical", "normal"):
            raise ValueError("intermittent_method must be 'empirical' or 'normal'")
        if self.strategy is Strategy.FIXED and self.fixed_threshold is None and not self._fixed_ok:
            raise ValueError("strategy 'fixed' needs a threshold or absolute levels for T1–T3")
        if self.fixed_threshold is not None and self.fixed_threshold < 0:
            raise ValueError("threshold must be ≥ 0")
        if Strategy.COMBINED in self.combine or (
            Strategy.FIXED in self.combine and self.fixed_threshold is None
        ):
            raise ValueError("combine may not list 'combined', nor 'fixed' without a threshold")
        if self.t3_floor < 1:
            raise ValueError("t3_floor must be at least 1 unit")
        check_absolute_order(dict(self.tiers))

    @property
    def _fixed_ok(self) -> bool:
        specs = dict(self.tiers)
        return all(
            name in specs and specs[name].kind is TierSpecKind.ABSOLUTE
            for name in ("T1", "T2", "T3")
        )

    def tier_spec(self, name: str) -> TierSpec | None:
        return dict(self.tiers).get(name)


def check_absolute_order(specs: dict[str, TierSpec]) -> None:
    """Reject absolute tier levels that break T1 ≥ T2 ≥ T3 (a configuration error)."""
    absolute = {
        name: spec.value for name, spec in specs.items() if spec.kind is TierSpecKind.ABSOLUTE
    }
    names = [n for n in ("T1", "T2", "T3") if n in absolute]
    for upper, lower in itertools.pairwise(names):
        if absolute[upper] < absolute[lower]:
            raise ValueError(
                f"tier levels out of order: {upper}={absolute[upper]:g} is below "
                f"{lower}={absolute[lower]:g}; T1 ≥ T2 ≥ T3 > 0 is required"
            )
    kinds = {spec.kind for spec in specs.values()}
    for upper, lower in (("T1", "T2"), ("T2", "T3"), ("T1", "T3")):
        a, b = specs.get(upper), specs.get(lower)
        if a and b and a.kind == b.kind and len(kinds) == 1 and a.value < b.value:
            raise ValueError(
                f"tier levels out of order: {upper}={a} is below {lower}={b}; "
                f"T1 ≥ T2 ≥ T3 is required"
            )


def check_service_level(alpha: float) -> None:
    if not (MIN_SERVICE_LEVEL <= alpha <= MAX_SERVICE_LEVEL):
        raise ValueError(
            f"service level must be between {MIN_SERVICE_LEVEL} and {MAX_SERVICE_LEVEL}, "
            f"got {alpha}: at 0 or 1 the safety factor Z is infinite"
        )


@lru_cache(maxsize=64)
def z_for(service_level: float) -> float:
    """Return the safety factor Z = Φ⁻¹(α) for a cycle service level α."""
    check_service_level(service_level)
    return NormalDist().inv_cdf(service_level)


@dataclass(frozen=True)
class DemandStats:
    """Demand estimates from daily sales (units/day), oldest day first."""

    history_days: int  # days since the first sale (leading zeros skipped)
    total: int
    mean: float  # over history_days
    sd: float  # sample std over history_days; 0 with fewer than 2 days
    velocity: float  # mean over the trailing velocity window
    recent_selling_days: int
    selling_days: int
    adi: float | None  # average inter-demand interval (days per selling day)
    cv2: float | None  # squared coefficient of variation of non-zero demand sizes

    @property
    def intermittent(self) -> bool:
        """SBC: intermittent or lumpy when the average inter-demand interval exceeds 1.32."""
        return self.adi is not None and self.adi > SBC_ADI


def demand_stats(
    daily: Sequence[int], velocity_days: int = 7, marks: Sequence[int] | None = None
) -> DemandStats:
    """Return demand estimates; negative days (net returns) count as 0 sold.

    ``marks`` (one ``baseline.DayMark`` per day) leaves stockout and promotion days out: of the
    history (so of d̄, σ and the SBC class) and of the velocity window, whose mean is then over
    its clean days only (inventory-math §4.5: 132/6, not 132/7). Marked days before the first
    sale change nothing (they are leading zeros either way).
    """
    days = [max(int(x), 0) for x in daily]
    width = len(days)
    raw_first = next((i for i, x in enumerate(days) if x > 0), width)
    dropped = [False] * width
    if marks is not None:
        dropped = [bool(m) and i >= raw_first for i, m in enumerate(marks)]
    hist = clean_history(days, dropped)
    n = len(hist)
    s1 = sum(hist)
    s2 = sum(x * x for x in hist)
    mean = s1 / n if n else 0.0
    sd = math.sqrt(max(n * s2 - s1 * s1, 0) / (n * (n - 1))) if n >= 2 else 0.0
    lo = max(width - velocity_days, 0)
    recent = [days[i] for i in range(lo, width) if not dropped[i]]
    counted = velocity_days - sum(dropped[lo:])
    velocity = sum(recent) / counted if counted > 0 else mean
    selling = [x for x in hist if x > 0]
    k = len(selling)
    adi = n / k if k else None
    cv2: float | None = None
    if k >= 2:
        m = sum(selling) / k
        var = sum((x - m) ** 2 for x in selling) / k
        cv2 = var / (m * m)
    return DemandStats(
        history_days=n,
        total=s1,
        mean=mean,
        sd=sd,
        velocity=velocity,
        recent_selling_days=sum(1 for x in recent if x > 0),
        selling_days=k,
        adi=adi,
        cv2=cv2,
    )


def order_rate(daily: Sequence[int], days: int, dropped: Sequence[bool] | None = None) -> float:
    """Return d_order: the mean of the last ``days`` days from the first clean sale on, without
    the ``dropped`` (stockout, promotion) days; the mean of the whole clean history when none
    of those days counts, 0 without any sale.

    The rate an order is sized from (``replenishment.suggest``): steadier than the 7-day
    velocity that the reorder point reacts with, and never lifted by a promotion.
    """
    values = [max(int(x), 0) for x in daily]
    gone = list(dropped) if dropped is not None else [False] * len(values)
    first = next((i for i, x in enumerate(values) if x > 0 and not gone[i]), len(values))
    lo = max(len(values) - days, first)
    kept = [values[i] for i in range(lo, len(values)) if not gone[i]]
    if kept:
        return sum(kept) / len(kept)
    history = clean_history(values, gone)
    return sum(history) / len(history) if history else 0.0


def intermittent_rate_note(history_days: int, velocity_days: int) -> str:
    """Return the note of an intermittent item's rate (the bulk path words it the same)."""
    return (
        f"intermittent demand: d̄ is the {history_days}-day mean, not the {velocity_days}-day "
        f"velocity (a few selling days are lumpy orders, not a daily rate)"
    )


def clean_history(days: Sequence[int], dropped: Sequence[bool]) -> list[int]:
    """Return the days from the first clean sale on, without the dropped ones."""
    first = next((i for i, x in enumerate(days) if x > 0 and not dropped[i]), len(days))
    return [max(int(days[i]), 0) for i in range(first, len(days)) if not dropped[i]]


def sbc_class(stats: DemandStats) -> str:
    """Return the SBC demand class: smooth, erratic, intermittent or lumpy (or none)."""
    if stats.adi is None:
        return "none"
    cv2 = stats.cv2 or 0.0
    if stats.adi <= SBC_ADI:
        return "erratic" if cv2 > SBC_CV2 else "smooth"
    return "lumpy" if cv2 > SBC_CV2 else "intermittent"


def safety_stock(
    z: float,
    sd: float,
    lead_days: float,
    rate: float = 0.0,
    lead_sd: float = 0.0,
    review_days: float = 0.0,
) -> float:
    """Return SS = Z·√((L+R)·σd² + d̄²·σL²), floored at 0 (units)."""
    return max(z * math.sqrt((lead_days + review_days) * sd * sd + rate * rate * lead_sd**2), 0.0)


def reorder_point(rate: float, lead_days: float, ss: float, review_days: float = 0.0) -> float:
    """Return ROP = d̄·(L+R) + SS (units)."""
    return rate * (lead_days + review_days) + ss


def days_of_cover(available: float, rate: float) -> float:
    """Return days until empty; ∞ when nothing sells (never divide by zero)."""
    if rate <= 0:
        return math.inf
    return max(available, 0.0) / rate


def order_window_sums(days: Sequence[int], lead_days: int) -> list[int]:
    """Return, sorted, the demand each order placed on a selling day has to cover.

    Lumpy sales cross the reorder point with a whole order: the position is then below it by
    up to that day's sales (the undershoot), and the next ``lead_days`` days still have to be
    served. So each window starts on a day with sales and sums that day and the ``lead_days``
    days after it; with one unit a day that is just the lead-time demand plus a day.
    """
    csum = [0]
    for x in days:
        csum.append(csum[-1] + x)
    return sorted(
        csum[t + lead_days + 1] - csum[t] for t in range(len(days) - lead_days) if days[t] > 0
    )


def empirical_lead_time_demand(daily: Sequence[int], lead_days: int, csl: float) -> int | None:
    """Return the CSL-quantile of ``order_window_sums``; None without such a window."""
    days = [max(int(x), 0) for x in daily]
    if lead_days < 1:
        return None
    sums = order_window_sums(days, lead_days)
    if not sums:
        return None
    return sums[min(len(sums) - 1, max(math.ceil(csl * len(sums)) - 1, 0))]


def empirical_mixture_demand(
    daily: Sequence[int],
    review: float,
    points: Sequence[tuple[float, float]],
    csl: float,
) -> int | None:
    """Return the CSL-quantile of demand over a lead-time distribution, from sales history.

    Each lead time ℓ (weight w) contributes the empirical distribution of its order windows
    (``order_window_sums`` over ⌈ℓ + R⌉ days): P(D ≤ x) = Σ w·#(sums ≤ x)/#sums, and the
    quantile is the smallest sum with P ≥ CSL (for one lead time, exactly
    ``empirical_lead_time_demand``). None when some lead time has no window in the history.
    """
    days = [max(int(x), 0) for x in daily]
    tables: list[tuple[float, list[int]]] = []
    for lead, weight in points:
        width = max(math.ceil(lead + review), 1)
        sums = order_window_sums(days, width)
        if not sums:
            return None
        tables.append((weight, sums))
    if not tables:
        return None
    if len(tables) == 1:
        sums = tables[0][1]
        return sums[min(len(sums) - 1, max(math.ceil(csl * len(sums)) - 1, 0))]
    candidates = sorted({x for _, sums in tables for x in sums})
    for x in candidates:
        total = 0.0
        for weight, sums in tables:
            total += weight * bisect.bisect_right(sums, x) / len(sums)
        if total >= csl - 1e-12:  # tolerate float noise in the weights summing to 1
            return x
    return candidates[-1]


def empirical_fill_demand(
    daily: Sequence[int],
    review: float,
    points: Sequence[tuple[float, float]],
    allowed: float,
) -> int | None:
    """Return the lowest level whose expected shortage per order cycle is at most ``allowed``,
    over the same order windows as ``empirical_mixture_demand`` (one lead time: ``((L, 1.0),)``).

    The shortage of a window summing to s is (s − x)⁺; each lead time ℓ (weight w) averages its
    windows: E = Σ w·Σ(s − x)⁺/#sums, linear between two sums, so the lowest level is found
    exactly and rounded up to a whole unit (a lowest *sum* would jump with the set of sums, and a
    later delivery could then lower it). None when some lead time has no window in the history.
    """
    days = [max(int(x), 0) for x in daily]
    tables: list[tuple[float, list[int], list[int]]] = []
    for lead, weight in points:
        width = max(math.ceil(lead + review), 1)
        sums = order_window_sums(days, width)
        if not sums:
            return None
        tail = [0] * (len(sums) + 1)  # tail[i] = sums[i] + … + sums[-1]
        for i in range(len(sums) - 1, -1, -1):
            tail[i] = tail[i + 1] + sums[i]
        tables.append((weight, sums, tail))
    if not tables:
        return None
    previous: tuple[int, float] | None = None
    for x in sorted({0, *(v for _, sums, _ in tables for v in sums)}):
        short = 0.0
        for weight, sums, tail in tables:
            above = bisect.bisect_right(sums, x)
            short += weight * ((tail[above] - (len(sums) - above) * x) / len(sums))
        if short <= allowed:
            if previous is None:
                return x
            # E falls linearly between two sums: the exact level, rounded up to a unit.
            low, low_short = previous
            exact = low + (low_short - allowed) * (x - low) / (low_short - short)
            return min(math.ceil(exact - 1e-9), x)
        previous = (x, short)
    return max(v for _, sums, _ in tables for v in sums)  # pragma: no cover - the largest sum fits


def fill_quantity(d_order: float, promised_lead: float, cycle_days: float) -> float:
    """Return Q of the fill rate: the order ``replenishment.suggest`` proposes, d_order times
    the longer of the order cycle and the declared lead time (at least one unit). The declared
    lead time, not a learned one: a later delivery must not shrink Q and with it the buffer."""
    return max(d_order * max(cycle_days, promised_lead), 1.0)


def fill_rate_note(beta: float, qty: float) -> str:
    """Return the explanation line of a fill-rate target (the bulk path words it the same)."""
    return (
        f"fill-rate target β {beta:g}: the reorder point is the lowest level whose expected "
        f"shortage per order cycle E[(D − ROP)⁺] is at most (1 − β)·Q = "
        f"{(1 - beta) * qty:.2f} units (Q {qty:.1f}); the service level is not used"
    )


@dataclass
class _Explain:
    inputs: list[tuple[str, float]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def step(self, label: str, formula: str, value: float) -> float:
        self.steps.append(Step(label, formula, value))
        return value


def _raw_triple(
    strategy: Strategy,
    policy: ThresholdPolicy,
    rate: float,
    sd: float,
    lead: float,
    lead_sd: float,
    review: float,
    z: float,
    ex: _Explain,
    lead_demand: int | None,
    lead_points: Sequence[tuple[float, float]] = (),
    service_level: float = 0.95,
    promised_lead: float = 0.0,
    allowed: float | None = None,
) -> tuple[float, float, float]:
    """Return the strategy's natural (T1, T2, T3) in units, before tier specs and rounding."""
    k = rate * policy.buffer_days + policy.buffer_units
    if strategy is Strategy.FIXED:
        t = float(policy.fixed_threshold or 0)
        return 1.5 * t, t, 0.5 * t
    if strategy is Strategy.DAYS_OF_COVER:
        t3 = ex.step("T3 cover", f"v·{policy.cover_t3_days:g}d", rate * policy.cover_t3_days)
        t2 = ex.step("T2 cover", "v·L", rate * lead)
        t1 = ex.step("T1 cover", "v·(L+R+buffer_days)", rate * (lead + review + policy.buffer_days))
        return t1, t2, t3
    if lead_demand is not None and lead_points:
        rop = ex.step(
            "ROP (empirical, lead-time distribution)",
            "α-quantile of sales sums over the learned lead times"
            if allowed is None
            else "lowest sum x with Σw·mean((sum − x)⁺) ≤ (1−β)·Q over the learned lead times",
            float(lead_demand),
        )
        ss = ex.step(
            "SS",
            "max(ROP − d̄·(L declared + R), 0)",
            max(rop - rate * (promised_lead + review), 0.0),
        )
        rop = max(rop, rate * (lead + review))
    elif lead_demand is not None:
        rop = ex.step(
            "ROP (empirical)",
            "α-quantile of a selling day's sales plus the next (L+R) days'"
            if allowed is None
            else "lowest such sum x with mean((sum − x)⁺) ≤ (1−β)·Q: a selling day's sales "
            "plus the next (L+R) days'",
            float(lead_demand),
        )
        ss = ex.step("SS", "max(ROP − d̄·(L+R), 0)", max(rop - rate * (lead + review), 0.0))
        rop = max(rop, rate * (lead + review))
    elif lead_points and allowed is not None:
        level = ex.step(
            "ROP (fill rate, lead-time distribution)",
            "lowest x with Σw·σℓ·G((x − d̄·(ℓ+R))/σℓ) ≤ (1−β)·Q over the learned lead times",
            fill_rate_level(lead_time_parts(rate, sd, review, lead_points), allowed),
        )
        ss = ex.step(
            "SS",
            "max(ROP − d̄·(L declared + R), 0)",
            max(level - rate * (promised_lead + review), 0.0),
        )
        rop = max(level, rate * (lead + review))
    elif lead_points:
        rop = ex.step(
            "ROP (lead-time distribution)",
            "α-quantile of demand over the learned lead times",
            demand_quantile(rate, sd, review, lead_points, service_level),
        )
        # Measured against the lead time the supplier promises, so the buffer grows with every
        # late delivery (against the learned mean it could shrink as the mean catches up).
        ss = ex.step(
            "SS",
            "max(ROP − d̄·(L declared + R), 0)",
            max(rop - rate * (promised_lead + review), 0.0),
        )
    elif allowed is not None:
        mean = rate * (lead + review)
        scale = math.sqrt((lead + review) * sd * sd + rate * rate * lead_sd**2)
        level = fill_rate_level(((mean, scale, 1.0),), allowed)
        ss = ex.step(
            "SS",
            "max(x − d̄·(L+R), 0), x lowest with σLT·G((x − d̄·(L+R))/σLT) ≤ (1−β)·Q",
            max(level - mean, 0.0),
        )
        rop = ex.step("ROP", "d̄·(L+R) + SS", reorder_point(rate, lead, ss, review))
    else:
        ss = ex.step(
            "SS", "Z·√((L+R)·σ² + d̄²·σL²)", safety_stock(z, sd, lead, rate, lead_sd, review)
        )
        rop = ex.step("ROP", "d̄·(L+R) + SS", reorder_point(rate, lead, ss, review))
    if strategy is Strategy.SAFETY_STOCK:
        t2 = ex.step("T2", "SS + k", ss + k)
        return ex.step("T1", "SS + k + d̄·attention_days", t2 + rate * policy.attention_days), t2, ss
    return ex.step("T1", "ROP + k", rop + k), rop, ss


def _tier_value(
    spec: TierSpec, threshold: float, rate: float, lead: float, ex: _Explain, name: str
) -> float:
    if spec.kind is TierSpecKind.ABSOLUTE:
        return ex.step(name, f"set to {spec}", spec.value)
    if spec.kind is TierSpecKind.MULTIPLE:
        return ex.step(name, f"{spec.value:g} × threshold", spec.value * threshold)
    if spec.kind is TierSpecKind.DAYS:
        return ex.step(name, f"d̄ × {spec.value:g} days", rate * spec.value)
    return ex.step(name, f"d̄ × (L {spec.value:+g} days)", rate * max(lead + spec.value, 0.0))


def declared_lead_time(policy: ThresholdPolicy, item: Item | None) -> tuple[float, float]:
    """Return the declared (L, σL): the item's own figures, else the policy's."""
    if item is not None and item.lead_time_days is not None:
        return item.lead_time_days, item.lead_time_sd_days or 0.0
    return policy.lead_time_days, policy.lead_time_sd_days


def learned_note(learned: LearnedLeadTime) -> str:
    """Return the explanation line of a learned lead time (the bulk path words it the same)."""
    source = "the item's" if learned.scope == "item" else "the supplier's"
    return (
        f"lead time learned from {learned.orders} received orders ({source}): observed "
        f"{learned.observed_mean:.1f} ± {learned.observed_sd:.1f} d; blended with the declared "
        f"one: L {learned.mean:.2f} d, σL {learned.sd:.2f} d; reorder point from the demand "
        f"quantile over that lead-time distribution"
    )


def learned_inputs(learned: LearnedLeadTime) -> list[tuple[str, float]]:
    return [
        ("lead_orders", float(learned.orders)),
        ("lead_observed", learned.observed_mean),
        ("lead_observed_sd", learned.observed_sd),
    ]


def compute_levels(
    policy: ThresholdPolicy,
    daily: Sequence[int] | None,
    as_of: date,
    item: Item | None = None,
    promotions: Sequence[Promotion] = (),
    stockout_days: Collection[date] = (),
    lead_time: LearnedLeadTime | None = None,
) -> TierLevels:
    """Return the item's tier levels and how they were computed.

    ``daily`` is the item's daily sales, oldest first, ending the day before ``as_of``, already
    zero-filled; only the last ``policy.window_days`` are used. Days in ``stockout_days`` (the
    shelf was at 0) and days a promotion for the item ran are left out of d̄ and σ, unless
    fewer than ``min_history_days`` clean days would remain. ``lead_time`` is the lead time
    learned from received purchase orders: its mean and σ replace the declared ones (σL may
    exceed L there) and the reorder point is the demand quantile over its distribution.
    """
    ex = _Explain()
    manual = policy.manual
    if manual is not None and manual.disables:
        return TierLevels.off(Basis("disabled", notes=("threshold set to 0 by hand",)))
    lead, lead_sd = declared_lead_time(policy, item)
    promised = lead
    if lead_time is not None:
        lead, lead_sd = lead_time.mean, lead_time.sd
        ex.notes.append(learned_note(lead_time))
    elif lead_sd > lead:
        raise ValueError(
            f"item {item.sku if item else '?'}: lead-time σ ({lead_sd:g}) exceeds the lead "
            f"time ({lead:g})"
        )
    review = policy.review_days
    if lead + review == 0:
        review = 1.0  # L = 0 would give SS = ROP = 0: assume at least one day to react
        ex.notes.append("L + R = 0: review period set to 1 day")
    history = list(daily or ())[-policy.window_days :]
    stats = demand_stats(history, policy.velocity_days)
    new_item = stats.history_days < policy.min_history_days
    used = history[len(history) - stats.history_days :]
    dropped: list[bool] | None = None  # the days left out of the baseline, when any are
    if not new_item and (stockout_days or (item is not None and promotions)):
        marks = day_marks(len(history), as_of, item, promotions, stockout_days)
        raw_first = len(history) - stats.history_days
        if any(marks[raw_first:]):
            clean = demand_stats(history, policy.velocity_days, marks)
            kept = clean.history_days < policy.min_history_days
            ex.notes.extend(
                dropped_days_notes(
                    marks, raw_first, as_of, kept, clean.history_days, policy.min_history_days
                )
            )
            if not kept:
                stats = clean
                dropped = [bool(m) and i >= raw_first for i, m in enumerate(marks)]
                used = clean_history(history, [bool(m) for m in marks])
    strategy = policy.strategy
    lead_demand: int | None = None
    beta = policy.fill_rate  # the fill-rate target the levels are sized for, if any
    if new_item:
        rate = policy.new_item_daily_sales
        sd = math.sqrt(rate)
        ex.notes.append(
            f"new item: {stats.history_days} days of history < {policy.min_history_days}; "
            f"using the rule rate {rate:g}/day and σ = √rate"
        )
        if policy.new_item_days is not None and strategy is not Strategy.FIXED:
            strategy = Strategy.FIXED
            policy = replace(policy, fixed_threshold=rate * policy.new_item_days)
            ex.notes.append(f"new-item rule: threshold = {rate:g}/day × {policy.new_item_days:g} d")
    else:
        sd = stats.sd
        if stats.recent_selling_days >= policy.min_selling_days:
            rate = stats.velocity
        else:
            rate = stats.mean
            ex.notes.append(
                f"only {stats.recent_selling_days} selling days in the last "
                f"{policy.velocity_days}: demand rate from the {stats.history_days}-day mean"
            )
        if stats.intermittent and policy.intermittent_method == "empirical":
            lumpy_beta = (
                policy.fill_rate if policy.fill_rate is not None else policy.intermittent_fill_rate
            )
            if lumpy_beta is not None:
                # Q at the window mean: a lumpy item's orders are sized from it (d_order).
                qty = fill_quantity(stats.mean, promised, policy.order_cycle_days)
                lead_demand = empirical_fill_demand(
                    used,
                    review,
                    lead_time.points if lead_time is not None else ((lead, 1.0),),
                    (1 - lumpy_beta) * qty,
                )
                if lead_demand is not None:
                    beta = lumpy_beta
            elif lead_time is not None:
                # The slow deliveries count: sales sums over each learned lead time, mixed.
                lead_demand = empirical_mixture_demand(
                    used, review, lead_time.points, policy.service_level
                )
            else:
                lead_demand = empirical_lead_time_demand(
                    used,
                    max(math.ceil(lead + review), 1),
                    policy.service_level,
                )
            # Shorter history than the lead time has no L-day window: say so, do not claim it.
            ex.notes.append(
                f"intermittent demand (ADI {stats.adi:.2f} > {SBC_ADI}): reorder point from "
                f"the empirical lead-time demand quantile, not the normal formula"
                if lead_demand is not None
                else f"intermittent demand (ADI {stats.adi:.2f} > {SBC_ADI}): too little "
                f"history for the empirical lead-time quantile, so the normal formula is used"
            )
            recent = stats.recent_selling_days
            if lead_demand is not None and recent >= max(policy.min_selling_days, 1):
                # One lumpy order inside the velocity window is not a daily rate: it would lift
                # the reorder point's floor d̄·(L+R) and every order sized from d̄. (A week with
                # no sale at all keeps velocity 0 where min_selling_days = 0 asks for it.)
                rate = stats.mean
                ex.notes.append(intermittent_rate_note(stats.history_days, policy.velocity_days))
    if new_item:
        d_order = rate
    elif lead_demand is not None:
        d_order = stats.mean  # lumpy: one order in a few weeks is not a rate, the window mean is
    else:
        d_order = order_rate(history, policy.order_rate_days, dropped)
    uplift = promotion_uplift(item, promotions, as_of, lead + review)
    if uplift is not None:
        # Only the promotion days inside the protection window raise the demand to cover.
        ex.notes.append(uplift.note())
        rate, sd = rate * uplift.rate, sd * uplift.sd
        if lead_demand is not None:
            lead_demand = math.ceil(lead_demand * uplift.rate)
    z = z_for(policy.service_level)
    ex.inputs.extend(
        [
            ("d", rate),
            ("sd", sd),
            ("L", lead),
            ("sL", lead_sd),
            ("R", review),
            ("service_level", policy.service_level),
            ("Z", z),
            ("k", rate * policy.buffer_days + policy.buffer_units),
            ("history_days", float(stats.history_days)),
            ("velocity7", stats.velocity),
            ("d_order", d_order),
            *(learned_inputs(lead_time) if lead_time is not None else ()),
            *((("order_cycle_days", policy.order_cycle_days),) if policy.order_cycle_days else ()),
        ]
    )
    points = lead_time.points if lead_time is not None else ()
    alpha = policy.service_level
    allowed: float | None = None
    if beta is not None and not new_item:
        qty = fill_quantity(d_order, promised, policy.order_cycle_days)
        allowed = (1 - beta) * qty
        ex.inputs.extend([("fill_rate", beta), ("order_qty", qty)])
        ex.notes.append(fill_rate_note(beta, qty))
    combined = strategy is Strategy.COMBINED
    triples = [
        _raw_triple(
            s,
            policy,
            rate,
            sd,
            lead,
            lead_sd,
            review,
            z,
            ex,
            lead_demand,
            points,
            alpha,
            promised,
            allowed,
        )
        for s in (policy.combine if combined else (strategy,))
    ]
    raw = [max(t[i] for t in triples) for i in range(3)]
    if combined:
        ex.step("combined", "per tier: max of " + ", ".join(policy.combine), raw[1])
    threshold = raw[1]
    for i, name in enumerate(("T1", "T2", "T3")):
        spec = policy.tier_spec(name)
        if spec is not None:
            raw[i] = _tier_value(spec, threshold, rate, lead, ex, name)
    level_m, level_promo = promotion_multiplier(item, promotions, as_of, lead, "threshold")
    if level_promo is not None:
        ex.notes.append(f"promotion {level_promo!r}: thresholds × {level_m:g}")
        raw = [v * level_m for v in raw]
    for v in raw:
        if not math.isfinite(v):
            raise ValueError(f"threshold is not finite ({v}); inputs: {ex.inputs}")
    t1, t2, t3 = (math.ceil(v - 1e-9) for v in raw)  # tolerate float noise before rounding up
    if t3 < policy.t3_floor:
        ex.notes.append(f"T3 raised to the floor of {policy.t3_floor}")
        t3 = policy.t3_floor
    if manual is not None:
        t1, t2, t3 = _apply_manual(manual, t1, t2, t3, ex)
    if t2 < t3:
        ex.notes.append(f"T2 {t2} clamped up to T3 {t3}")
        t2 = t3
    if t1 < t2:
        ex.notes.append(f"T1 {t1} clamped up to T2 {t2}")
        t1 = t2
    basis = Basis(
        strategy="default" if new_item else strategy.value,
        inputs=tuple(ex.inputs),
        steps=tuple(ex.steps),
        notes=tuple(ex.notes),
    )
    return TierLevels(t1, t2, t3, velocity=rate, basis=basis)


def _apply_manual(
    manual: ManualLevels, t1: int, t2: int, t3: int, ex: _Explain
) -> tuple[int, int, int]:
    """Let hand-set levels win; computed levels give way to keep T1 ≥ T2 ≥ T3."""
    if manual.threshold is not None:
        t2 = manual.threshold
        ex.notes.append(f"T2 set by hand to {t2}")
    for name, value in (("T1", manual.t1), ("T2", manual.t2), ("T3", manual.t3)):
        if value is not None:
            ex.notes.append(f"{name} set by hand to {value}")
    t1 = manual.t1 if manual.t1 is not None else t1
    t2 = manual.t2 if manual.t2 is not None else t2
    t3 = manual.t3 if manual.t3 is not None else t3
    if manual.t3 is None and t3 > t2:
        t3 = max(t2, 1)
    if manual.t1 is not None and t2 > t1 and manual.t2 is None:
        t2 = t1
        t3 = min(t3, t2)
    return max(t1, 1), max(t2, 1), max(t3, 1)
