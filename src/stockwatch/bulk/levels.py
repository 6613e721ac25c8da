"""Vectorised threshold recompute: ``compute_levels`` for a million items at once (numpy).

This is the bulk twin of the per-item reference ``stockwatch.core.thresholds.compute_levels``
and must reproduce it exactly: the same operation order for every float (so results are
normally bit-identical), the same ``ceil(v − 1e-9)`` rounding, T3 floor, manual levels, clamps,
new-item rule, velocity fallback, leading-zero trimming, intermittent items via the empirical
lead-time quantile, stockout and promotion days left out of the baseline (a marks matrix beside
the sales), the calendar uplift of promotions, and tier specs. Property tests compare the two.

Items are rows of an integer matrix (oldest day first, ending the day before ``as_of``, zero
filled). Per-item policies are given as an index into a short list of distinct policies, so the
maths runs over parameter arrays gathered from that list instead of grouping rows. The matrix is
streamed in row chunks so temporaries stay small (a few MB) whatever the catalogue size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from stockwatch.bulk.gcpause import paused_gc
from stockwatch.bulk.leadtime import demand_quantiles, fill_levels, lead_time_fill_levels
from stockwatch.core.baseline import day_marks, dropped_days_notes
from stockwatch.core.leadtime import LearnedLeadTime
from stockwatch.core.model import Basis, Item, Step, TierLevels
from stockwatch.core.thresholds import (
    SBC_ADI,
    Promotion,
    Strategy,
    ThresholdPolicy,
    TierSpecKind,
    Uplift,
    clean_history,
    empirical_fill_demand,
    empirical_lead_time_demand,
    empirical_mixture_demand,
    fill_quantity,
    fill_rate_note,
    intermittent_rate_note,
    learned_inputs,
    learned_note,
    promotion_uplift,
    z_for,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.integer[Any]]

CHUNK_ROWS = 8192  # 2–8k rows keep a chunk's temporaries in cache (inventory-math §9.2)
_STRATEGIES = (
    Strategy.FIXED,
    Strategy.SAFETY_STOCK,
    Strategy.REORDER_POINT,
    Strategy.DAYS_OF_COVER,
    Strategy.COMBINED,
)
_CODE = {s: i for i, s in enumerate(_STRATEGIES)}
# The basis strategy names, by ``BulkLevels.strategy_codes``; "default" is the new-item rule.
STRATEGY_NAMES = (*(s.value for s in _STRATEGIES), "default")
FIXED, SAFETY, ROP, COVER, COMBINED = range(5)
_KINDS = (TierSpecKind.ABSOLUTE, TierSpecKind.MULTIPLE, TierSpecKind.DAYS, TierSpecKind.LEAD)
_NONE = -1


@dataclass(frozen=True)
class _PolicyTable:
    """One array per ThresholdPolicy field, indexed by policy number."""

    strategy: I64
    combine: npt.NDArray[np.bool_]  # (P, 4): which base strategies a COMBINED policy takes
    service_level: F64
    z: F64
    review: F64
    buffer_days: F64
    buffer_units: F64
    attention_days: F64
    cover_t3_days: F64
    window: I64
    velocity_days: I64
    order_days: I64
    min_selling: I64
    min_history: I64
    new_rate: F64
    new_days: F64  # nan: no new-item rule
    empirical: npt.NDArray[np.bool_]
    fill_rate: F64  # nan: the cycle service level sets the reorder point
    intermittent_fill: F64  # nan: intermittent items too
    order_cycle: F64
    fixed: F64  # fixed_threshold or 0
    spec_kind: I64  # (P, 3) for T1, T2, T3: index into _KINDS or -1
    spec_value: F64  # (P, 3)
    t3_floor: I64
    manual: I64  # (P, 4): t1, t2, t3, threshold; -1 when not set
    has_manual: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, policies: Sequence[ThresholdPolicy]) -> _PolicyTable:
        def f(get: Callable[[ThresholdPolicy], float]) -> F64:
            return np.array([get(p) for p in policies], dtype=np.float64)

        def i(get: Callable[[ThresholdPolicy], int]) -> I64:
            return np.array([get(p) for p in policies], dtype=np.int64)

        combine = np.zeros((len(policies), 4), dtype=np.bool_)
        spec_kind = np.full((len(policies), 3), _NONE, dtype=np.int64)
        spec_value = np.zeros((len(policies), 3), dtype=np.float64)
        manual = np.full((len(policies), 4), _NONE, dtype=np.int64)
        for row, p in enumerate(policies):
            for s in p.combine:
                combine[row, _CODE[s]] = True
            for col, name in enumerate(("T1", "T2", "T3")):
                spec = p.tier_spec(name)
                if spec is not None:
                    spec_kind[row, col] = _KINDS.index(spec.kind)
                    spec_value[row, col] = spec.value
            if p.manual is not None:
                for col, value in enumerate(
                    (p.manual.t1, p.manual.t2, p.manual.t3, p.manual.threshold)
                ):
                    if value is not None:
                        manual[row, col] = value
        return cls(
            strategy=i(lambda p: _CODE[p.strategy]),
            combine=combine,
            service_level=f(lambda p: p.service_level),
            z=f(lambda p: z_for(p.service_level)),
            review=f(lambda p: p.review_days),
            buffer_days=f(lambda p: p.buffer_days),
            buffer_units=f(lambda p: p.buffer_units),
            attention_days=f(lambda p: p.attention_days),
            cover_t3_days=f(lambda p: p.cover_t3_days),
            window=i(lambda p: p.window_days),
            velocity_days=i(lambda p: p.velocity_days),
            order_days=i(lambda p: p.order_rate_days),
            min_selling=i(lambda p: p.min_selling_days),
            min_history=i(lambda p: p.min_history_days),
            new_rate=f(lambda p: p.new_item_daily_sales),
            new_days=f(lambda p: math.nan if p.new_item_days is None else p.new_item_days),
            empirical=np.array([p.intermittent_method == "empirical" for p in policies]),
            fill_rate=f(lambda p: math.nan if p.fill_rate is None else p.fill_rate),
            intermittent_fill=f(
                lambda p: math.nan if p.intermittent_fill_rate is None else p.intermittent_fill_rate
            ),
            order_cycle=f(lambda p: p.order_cycle_days),
            fixed=f(lambda p: float(p.fixed_threshold or 0)),
            spec_kind=spec_kind,
            spec_value=spec_value,
            t3_floor=i(lambda p: p.t3_floor),
            manual=manual,
            has_manual=np.array([p.manual is not None for p in policies], dtype=np.bool_),
        )


@dataclass(frozen=True)
class BulkLevels:
    """Levels and every intermediate of a bulk recompute, one array element per item.

    ``error`` rows (lead-time σ above the lead time, a non-finite level) have no levels;
    ``disabled`` rows are switched off by hand (manual threshold 0).
    """

    policies: tuple[ThresholdPolicy, ...]
    promotions: tuple[Promotion, ...]
    uplifts: tuple[Uplift | None, ...]  # per row: the demand promotions in its window
    marks: npt.NDArray[np.int8] | None  # (N, W) baseline.DayMark per day, or None: all clean
    as_of: date | None
    policy_index: I64
    t1: I64
    t2: I64
    t3: I64
    disabled: Bool
    error: Bool
    strategy: I64  # effective strategy code (new-item rule may switch to FIXED)
    new_item: Bool
    rate: F64  # d̄ used by the formulas (velocity or mean, × demand promotion)
    sd: F64
    lead: F64
    lead_sd: F64
    review: F64
    k: F64
    ss: F64  # nan for strategies that have none
    rop: F64
    raw: F64  # (N, 3) unrounded T1, T2, T3 after tier specs and threshold promotions
    history_days: I64
    velocity7: F64
    order_rate: F64  # d_order: the recent clean mean orders are sized from (no promotion)
    fill_qty: F64  # Q of a fill-rate target, nan without one
    fill_beta: F64  # the row's fill-rate target, nan without one
    recent_selling_days: I64
    selling_days: I64
    lead_demand: I64  # empirical lead-time demand quantile, −1 when not used
    intermittent: Bool
    level_promo: I64
    baseline_noted: Bool  # some stockout/promotion day counted: explained in the notes
    baseline_kept: Bool  # ... but kept, too few clean days would remain
    raw_first: I64  # index (within the row's window) of the first sale, marks unused
    clean_days: I64  # history days once the marked days are left out
    t3_floored: Bool
    t2_before_clamp: I64  # the value the T2 clamp raised, or −1
    t1_before_clamp: I64
    # Lead times learned from received orders (None: the declared ones), one per row or none.
    learned: tuple[LearnedLeadTime | None, ...] = ()

    def _learned(self, i: int) -> LearnedLeadTime | None:
        return self.learned[i] if self.learned else None

    def __len__(self) -> int:
        return len(self.t1)

    def levels(self, i: int) -> TierLevels:
        """Return row ``i`` as the core's TierLevels, with a basis like ``compute_levels``."""
        policy = self.policies[int(self.policy_index[i])]
        if self.disabled[i]:
            return TierLevels.off(Basis("disabled", notes=("threshold set to 0 by hand",)))
        if self.error[i]:
            raise ValueError(self.error_message(i))
        rate = float(self.rate[i])
        inputs: tuple[tuple[str, float], ...] = (
            ("d", rate),
            ("sd", float(self.sd[i])),
            ("L", float(self.lead[i])),
            ("sL", float(self.lead_sd[i])),
            ("R", float(self.review[i])),
            ("service_level", policy.service_level),
            ("Z", z_for(policy.service_level)),
            ("k", float(self.k[i])),
            ("history_days", float(self.history_days[i])),
            ("velocity7", float(self.velocity7[i])),
            ("d_order", float(self.order_rate[i])),
        )
        learned = self._learned(i)
        if learned is not None:
            inputs = (*inputs, *learned_inputs(learned))
        if policy.order_cycle_days:
            inputs = (*inputs, ("order_cycle_days", policy.order_cycle_days))
        if not math.isnan(self.fill_qty[i]):
            beta = float(self.fill_beta[i])
            inputs = (*inputs, ("fill_rate", beta), ("order_qty", float(self.fill_qty[i])))
        steps = [
            Step(f"{name} raw", "before rounding", float(self.raw[i, c]))
            for c, name in enumerate(("T1", "T2", "T3"))
        ]
        if not math.isnan(self.ss[i]):
            steps[:0] = [
                Step("SS", "safety stock", float(self.ss[i])),
                Step("ROP", "reorder point", float(self.rop[i])),
            ]
        basis = Basis(
            strategy="default" if self.new_item[i] else _STRATEGIES[int(self.strategy[i])].value,
            inputs=inputs,
            steps=tuple(steps),
            notes=tuple(self.notes(i)),
        )
        return TierLevels(
            int(self.t1[i]), int(self.t2[i]), int(self.t3[i]), velocity=rate, basis=basis
        )

    def noted(self) -> Bool:
        """Which rows have any explanation note (the others' notes are empty)."""
        pol = self.policies
        pi = self.policy_index
        review_days = np.array([p.review_days for p in pol])[pi]
        min_selling = np.array([p.min_selling_days for p in pol])[pi]
        empirical = np.array([p.intermittent_method == "empirical" for p in pol])[pi]
        manual = np.array([p.manual is not None for p in pol])[pi]
        has_learned = np.array([x is not None for x in self.learned], dtype=np.bool_)
        noted: Bool = (
            (has_learned if self.learned else np.zeros(len(self), dtype=np.bool_))
            | (self.lead + review_days == 0)
            | self.new_item
            | (self.recent_selling_days < min_selling)
            | (self.intermittent & empirical)
            | self.baseline_noted
            | np.array([u is not None for u in self.uplifts], dtype=np.bool_)
            | (self.level_promo >= 0)
            | ~np.isnan(self.fill_qty)
            | self.t3_floored
            | manual
            | (self.t2_before_clamp >= 0)
            | (self.t1_before_clamp >= 0)
        )
        return noted

    def strategy_codes(self) -> I64:
        """Each row's basis strategy as an index into ``STRATEGY_NAMES`` (new items: default)."""
        codes: I64 = np.where(self.new_item, len(_STRATEGIES), self.strategy)
        return codes

    def levels_list(self) -> list[TierLevels | None]:
        """Return every row as TierLevels (None for error rows), much faster than ``levels(i)``.

        Columns are turned into Python lists once and notes are worded only for the rows that
        have any, so writing a million versions is not dominated by numpy scalar access.
        """
        pol = self.policies
        pi = self.policy_index
        noted = self.noted().tolist()
        strategy = self.strategy_codes().tolist()
        names = list(STRATEGY_NAMES)
        service = [p.service_level for p in pol]
        zs = [z_for(a) for a in service]
        cycles = [p.order_cycle_days for p in pol]
        has_ss = (~np.isnan(self.ss)).tolist()
        cols = zip(
            pi.tolist(),
            self.t1.tolist(),
            self.t2.tolist(),
            self.t3.tolist(),
            self.rate.tolist(),
            self.sd.tolist(),
            self.lead.tolist(),
            self.lead_sd.tolist(),
            self.review.tolist(),
            self.k.tolist(),
            self.history_days.tolist(),
            self.velocity7.tolist(),
            self.order_rate.tolist(),
            self.fill_qty.tolist(),
            self.fill_beta.tolist(),
            self.ss.tolist(),
            self.rop.tolist(),
            self.raw.tolist(),
            strict=True,
        )
        disabled = self.disabled.tolist()
        error = self.error.tolist()
        with paused_gc():
            return self._build(
                cols, disabled, error, has_ss, names, strategy, service, zs, cycles, noted
            )

    def _build(
        self,
        cols: Any,
        disabled: list[bool],
        error: list[bool],
        has_ss: list[bool],
        names: list[str],
        strategy: list[int],
        service: list[float],
        zs: list[float],
        cycles: list[float],
        noted: list[bool],
    ) -> list[TierLevels | None]:
        out: list[TierLevels | None] = []
        for i, row in enumerate(cols):
            (
                p,
                t1,
                t2,
                t3,
                rate,
                sd,
                lead,
                lsd,
                rev,
                k,
                hist,
                v7,
                d_order,
                qty,
                beta,
                ss,
                rop,
                raw,
            ) = row
            if disabled[i]:
                out.append(TierLevels.off(Basis("disabled", notes=("threshold set to 0 by hand",))))
                continue
            if error[i]:
                out.append(None)
                continue
            steps: tuple[Step, ...] = (
                Step("T1 raw", "before rounding", raw[0]),
                Step("T2 raw", "before rounding", raw[1]),
                Step("T3 raw", "before rounding", raw[2]),
            )
            if has_ss[i]:
                steps = (Step("SS", "safety stock", ss), Step("ROP", "reorder point", rop), *steps)
            inputs: tuple[tuple[str, float], ...] = (
                ("d", rate),
                ("sd", sd),
                ("L", lead),
                ("sL", lsd),
                ("R", rev),
                ("service_level", service[p]),
                ("Z", zs[p]),
                ("k", k),
                ("history_days", float(hist)),
                ("velocity7", v7),
                ("d_order", d_order),
            )
            learned = self._learned(i)
            if learned is not None:
                inputs = (*inputs, *learned_inputs(learned))
            if cycles[p]:
                inputs = (*inputs, ("order_cycle_days", cycles[p]))
            if qty == qty:  # not nan: a fill-rate target
                inputs = (*inputs, ("fill_rate", beta), ("order_qty", qty))
            basis = Basis(
                names[strategy[i]],
                inputs,
                steps,
                tuple(self.notes(i)) if noted[i] else (),
            )
            out.append(TierLevels(t1, t2, t3, velocity=rate, basis=basis))
        return out

    def error_message(self, i: int) -> str:
        if self.lead_sd[i] > self.lead[i] and self._learned(i) is None:
            return f"lead-time σ ({self.lead_sd[i]:g}) exceeds the lead time ({self.lead[i]:g})"
        return f"threshold is not finite ({self.raw[i].tolist()})"

    def notes(self, i: int) -> list[str]:
        """Return the explanation notes of row ``i``, worded as ``compute_levels`` words them."""
        p = self.policies[int(self.policy_index[i])]
        notes: list[str] = []
        learned = self._learned(i)
        if learned is not None:
            notes.append(learned_note(learned))
        if self.lead[i] + p.review_days == 0:
            notes.append("L + R = 0: review period set to 1 day")
        n = int(self.history_days[i])
        if self.new_item[i]:
            rate = p.new_item_daily_sales
            notes.append(
                f"new item: {n} days of history < {p.min_history_days}; "
                f"using the rule rate {rate:g}/day and σ = √rate"
            )
            if p.new_item_days is not None and p.strategy is not Strategy.FIXED:
                notes.append(f"new-item rule: threshold = {rate:g}/day × {p.new_item_days:g} d")
        else:
            if self.baseline_noted[i]:
                assert self.marks is not None and self.as_of is not None
                w = min(p.window_days, self.marks.shape[1])
                notes.extend(
                    dropped_days_notes(
                        self.marks[i, self.marks.shape[1] - w :].tolist(),
                        int(self.raw_first[i]),
                        self.as_of,
                        bool(self.baseline_kept[i]),
                        int(self.clean_days[i]),
                        p.min_history_days,
                    )
                )
            if self.recent_selling_days[i] < p.min_selling_days:
                notes.append(
                    f"only {int(self.recent_selling_days[i])} selling days in the last "
                    f"{p.velocity_days}: demand rate from the {n}-day mean"
                )
            if self.intermittent[i] and p.intermittent_method == "empirical":
                adi = n / int(self.selling_days[i])
                notes.append(_intermittent_note(adi, bool(self.lead_demand[i] >= 0)))
                recent = int(self.recent_selling_days[i])
                if self.lead_demand[i] >= 0 and recent >= max(p.min_selling_days, 1):
                    notes.append(intermittent_rate_note(n, p.velocity_days))
        uplift = self.uplifts[i]
        if uplift is not None:
            notes.append(uplift.note())
        if not math.isnan(self.fill_qty[i]):
            notes.append(fill_rate_note(float(self.fill_beta[i]), float(self.fill_qty[i])))
        if self.level_promo[i] >= 0:
            promo = self.promotions[int(self.level_promo[i])]
            notes.append(f"promotion {promo.name!r}: thresholds × {promo.multiplier:g}")
        if self.t3_floored[i]:
            notes.append(f"T3 raised to the floor of {p.t3_floor}")
        m = p.manual
        if m is not None:
            if m.threshold is not None:
                notes.append(f"T2 set by hand to {m.threshold}")
            for name, value in (("T1", m.t1), ("T2", m.t2), ("T3", m.t3)):
                if value is not None:
                    notes.append(f"{name} set by hand to {value}")
        if self.t2_before_clamp[i] >= 0:
            notes.append(f"T2 {int(self.t2_before_clamp[i])} clamped up to T3 {int(self.t3[i])}")
        if self.t1_before_clamp[i] >= 0:
            notes.append(f"T1 {int(self.t1_before_clamp[i])} clamped up to T2 {int(self.t2[i])}")
        return notes


def _intermittent_note(adi: float, empirical: bool) -> str:
    # Same wording as the core reference.
    if empirical:
        return (
            f"intermittent demand (ADI {adi:.2f} > {SBC_ADI}): reorder point from "
            f"the empirical lead-time demand quantile, not the normal formula"
        )
    return (
        f"intermittent demand (ADI {adi:.2f} > {SBC_ADI}): too little "
        f"history for the empirical lead-time quantile, so the normal formula is used"
    )


def promotion_index(
    items: Sequence[Item | None],
    promotions: Sequence[Promotion],
    as_of: date,
    lead: F64,
    target: str,
) -> I64:
    """Return, per item, the index of the promotion ``compute_levels`` would apply, or −1.

    Same choice as the core's ``promotion_multiplier``: the largest active multiplier, the
    first one on ties. Only promotions for ``target`` that are active for some lead are looked at.
    """
    out = np.full(len(items), _NONE, dtype=np.int64)
    candidates = [(j, p) for j, p in enumerate(promotions) if p.target == target]
    if not candidates:
        return out
    for row, item in enumerate(items):
        if item is None:
            continue
        best = 1.0
        for j, promo in candidates:
            if (
                promo.applies_to(item)
                and promo.active_on(as_of, float(lead[row]))
                and (out[row] == _NONE or promo.multiplier > best)
            ):
                out[row], best = j, promo.multiplier
    return out


def horizons(policies: Sequence[ThresholdPolicy], policy_index: IntArray, lead: F64) -> F64:
    """Return each row's protection window L + R (R = 1 day when L + R = 0), as the core."""
    review = np.array([p.review_days for p in policies], dtype=np.float64)[
        np.asarray(policy_index, dtype=np.int64)
    ]
    review = np.where(lead + review == 0, 1.0, review)
    return np.asarray(lead + review, dtype=np.float64)


def demand_uplifts(
    items: Sequence[Item | None], promotions: Sequence[Promotion], as_of: date, horizon: F64
) -> list[Uplift | None]:
    """Return, per item, the core's ``promotion_uplift`` over its protection window."""
    if not any(p.target == "demand" for p in promotions):
        return [None] * len(items)
    return [
        promotion_uplift(item, promotions, as_of, float(h))
        for item, h in zip(items, horizon.tolist(), strict=True)
    ]


def baseline_marks(
    items: Sequence[Item | None],
    promotions: Sequence[Promotion],
    as_of: date,
    width: int,
    stockout_days: Sequence[Collection[date]] | None = None,
) -> npt.NDArray[np.int8] | None:
    """Return the (N, width) ``DayMark`` matrix of the core's ``day_marks``, None if all clean.

    Only rows with a stockout day or a promotion that names them are worded by the core; the
    rest stay 0, so a big catalogue with a few promotions costs a few rows of Python.
    """
    if not promotions and (stockout_days is None or not any(stockout_days)):
        return None
    out: npt.NDArray[np.int8] | None = None
    for row, item in enumerate(items):
        outs = stockout_days[row] if stockout_days is not None else ()
        promos = (
            [p for p in promotions if p.applies_to(item)] if item is not None and promotions else []
        )
        if not outs and not promos:
            continue
        marks = day_marks(width, as_of, item, promos, outs)
        if any(marks):
            if out is None:
                out = np.zeros((len(items), width), dtype=np.int8)
            out[row] = marks
    return out


def compute_bulk(
    sales: IntArray,
    policies: Sequence[ThresholdPolicy],
    policy_index: IntArray,
    lead: F64,
    lead_sd: F64,
    promotions: Sequence[Promotion] = (),
    uplifts: Sequence[Uplift | None] | None = None,
    level_promo: IntArray | None = None,
    *,
    marks: npt.NDArray[np.int8] | None = None,
    as_of: date | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    learned: Sequence[LearnedLeadTime | None] | None = None,
    memo: dict[Any, Any] | None = None,
) -> BulkLevels:
    """Compute every row's levels exactly as ``compute_levels`` would, vectorised.

    ``sales`` is (N, W) integer daily sales ending the day before ``as_of``; a policy window
    longer than W reads as zero-filled on the left, which changes nothing (leading zeros are
    skipped). ``lead``/``lead_sd`` are the per-item lead times already resolved (item override
    or policy). ``uplifts`` come from ``demand_uplifts``, ``level_promo`` from
    ``promotion_index``; ``marks`` (from ``baseline_marks``, same shape as ``sales``) leaves
    stockout and promotion days out of the baseline and needs ``as_of`` for the notes.
    ``learned`` gives rows a lead time learned from received orders: its mean and σ replace
    ``lead``/``lead_sd`` and the reorder point is the demand quantile over its distribution,
    as in the core (``uplifts`` and ``level_promo`` must then use the learned L too).
    ``progress`` is called with the number of rows finished after each chunk.
    ``memo`` lets calls over the *same* ``sales`` (and ``chunk_rows``) share what does not
    depend on the policy's service level: demand statistics per window and the sorted lead-time
    sums of intermittent rows (a backtest sweep computes every candidate over one history).
    """
    n_rows = sales.shape[0]
    if marks is not None and (marks.shape != sales.shape or as_of is None):
        raise ValueError("marks need the shape of sales and an as_of date")
    table = _PolicyTable.of(policies)
    pidx = np.asarray(policy_index, dtype=np.int64)
    if len(pidx) != n_rows or len(lead) != n_rows or len(lead_sd) != n_rows:
        raise ValueError("policy_index, lead and lead_sd need one element per sales row")
    lead = np.array(lead, dtype=np.float64)  # copies: learned rows are overwritten below
    lead_sd = np.array(lead_sd, dtype=np.float64)
    promised = lead.copy()  # the declared lead time, the base of a learned row's SS
    rows_learned: tuple[LearnedLeadTime | None, ...] = tuple(learned) if learned else ()
    if rows_learned:
        if len(rows_learned) != n_rows:
            raise ValueError("learned needs one element per sales row")
        for i, found in enumerate(rows_learned):
            if found is not None:
                lead[i], lead_sd[i] = found.mean, found.sd
    no_promo = np.full(n_rows, _NONE, dtype=np.int64)
    ups = tuple(uplifts) if uplifts is not None else (None,) * n_rows
    if len(ups) != n_rows:
        raise ValueError("uplifts need one element per sales row")
    if ups.count(None) == n_rows:  # no demand promotion: skip three loops over the catalogue
        up_rate, up_sd = np.ones(n_rows), np.ones(n_rows)
        has_up = np.zeros(n_rows, dtype=np.bool_)
    else:
        up_rate = np.array([1.0 if u is None else u.rate for u in ups], dtype=np.float64)
        up_sd = np.array([1.0 if u is None else u.sd for u in ups], dtype=np.float64)
        has_up = np.array([u is not None for u in ups], dtype=np.bool_)
    lp = no_promo if level_promo is None else np.asarray(level_promo, dtype=np.int64)
    multipliers = np.array([1.0, *(p.multiplier for p in promotions)], dtype=np.float64)
    out = _Out.empty(n_rows)
    for lo in range(0, n_rows, chunk_rows):
        hi = min(lo + chunk_rows, n_rows)
        _chunk(
            sales[lo:hi],
            table,
            pidx[lo:hi],
            lead[lo:hi],
            lead_sd[lo:hi],
            (up_rate[lo:hi], up_sd[lo:hi], has_up[lo:hi]),
            multipliers[lp[lo:hi] + 1],
            lp[lo:hi] >= 0,
            None if marks is None else marks[lo:hi],
            out.view(lo, hi),
            promised[lo:hi],
            rows_learned[lo:hi],
            None if memo is None else memo.setdefault(lo, {}),
        )
        if progress is not None:
            progress(hi - lo)
    return BulkLevels(
        policies=tuple(policies),
        promotions=tuple(promotions),
        uplifts=ups,
        marks=marks,
        as_of=as_of,
        policy_index=pidx,
        lead=lead,
        lead_sd=lead_sd,
        level_promo=lp,
        **out.arrays(),
        learned=rows_learned,
    )


@dataclass(frozen=True)
class _Out:
    """Output arrays, written chunk by chunk."""

    a: dict[str, npt.NDArray[Any]]

    _FLOAT = (
        "rate",
        "sd",
        "review",
        "k",
        "ss",
        "rop",
        "velocity7",
        "order_rate",
        "fill_qty",
        "fill_beta",
    )
    _INT = (
        "t1",
        "t2",
        "t3",
        "strategy",
        "history_days",
        "recent_selling_days",
        "selling_days",
        "lead_demand",
        "t2_before_clamp",
        "t1_before_clamp",
        "raw_first",
        "clean_days",
    )
    _BOOL = (
        "disabled",
        "error",
        "new_item",
        "intermittent",
        "t3_floored",
        "baseline_noted",
        "baseline_kept",
    )

    @classmethod
    def empty(cls, n: int) -> _Out:
        a: dict[str, npt.NDArray[Any]] = {}
        for name in cls._FLOAT:
            a[name] = np.empty(n, dtype=np.float64)
        for name in cls._INT:
            a[name] = np.empty(n, dtype=np.int64)
        for name in cls._BOOL:
            a[name] = np.empty(n, dtype=np.bool_)
        a["raw"] = np.empty((n, 3), dtype=np.float64)
        return cls(a)

    def view(self, lo: int, hi: int) -> dict[str, npt.NDArray[Any]]:
        return {name: arr[lo:hi] for name, arr in self.a.items()}

    def arrays(self) -> dict[str, Any]:
        return dict(self.a)


def _stats(x: IntArray, velocity_days: int) -> tuple[I64, F64, F64, I64, F64, I64]:
    """Return n (history days), S1, S2, selling days, velocity sum, recent selling days.

    The sums run in float64 (einsum is SIMD there, int64 is not): integer sums below 2^53 are
    exact in float64, so S1, S2 and n·S2 − S1² equal the core's Python integers bit for bit.
    """
    if x.size and x.min() < 0:
        x = np.maximum(x, 0)  # net returns count as 0 sold, as in demand_stats
    width = x.shape[1]
    f = x.astype(np.float64)
    s1 = np.einsum("ij->i", f)
    s2 = np.einsum("ij,ij->i", f, f)
    selling = x > 0
    k = selling.sum(axis=1)
    first = selling.argmax(axis=1)
    n = np.where(k > 0, width - first, 0)
    vsum = s1 if velocity_days >= width else np.einsum("ij->i", f[:, -velocity_days:])
    recent = k if velocity_days >= width else selling[:, -velocity_days:].sum(axis=1)
    return n, s1, s2, k, vsum, recent


@dataclass(frozen=True)
class _Clean:
    """Demand statistics with the marked days left out (rows of one window group)."""

    raw_first: I64
    dropped: Bool  # (r, w): the marked days that count (from the first sale on)
    n: I64
    s1: F64
    s2: F64
    k: I64
    velocity: F64
    recent: I64


def _clean_stats(x: IntArray, mk: npt.NDArray[np.int8], velocity_days: int) -> _Clean:
    """The core's ``demand_stats(..., marks)`` for a block of rows, vectorised."""
    if x.size and x.min() < 0:
        x = np.maximum(x, 0)
    width = x.shape[1]
    cols = np.arange(width)[None, :]
    selling = x > 0
    raw_first = np.where(selling.any(axis=1), selling.argmax(axis=1), width)
    dropped = (mk != 0) & (cols >= raw_first[:, None])
    keep = ~dropped
    xc = np.where(keep, x, 0)
    sell_c = xc > 0
    k = sell_c.sum(axis=1)
    first_c = np.where(k > 0, sell_c.argmax(axis=1), width)
    n = (keep & (cols >= first_c[:, None])).sum(axis=1)
    f = xc.astype(np.float64)
    s1 = np.einsum("ij->i", f)
    s2 = np.einsum("ij,ij->i", f, f)
    lo = max(width - velocity_days, 0)
    vsum = np.einsum("ij->i", f[:, lo:])
    counted = velocity_days - dropped[:, lo:].sum(axis=1)
    mean = np.divide(s1, n.astype(np.float64), out=np.zeros(len(n)), where=n > 0)
    velocity = np.where(counted > 0, vsum / np.maximum(counted, 1).astype(np.float64), mean)
    recent = sell_c[:, lo:].sum(axis=1)
    return _Clean(raw_first, dropped, n, s1, s2, k, velocity, recent)


def _order_rates(x: IntArray, n: I64, days: I64) -> F64:
    """The core's ``order_rate`` for rows with no day left out: the mean of the last ``days``
    days from the first sale on (``n`` history days; the leading zeros before add nothing)."""
    x = np.maximum(x, 0)
    width = x.shape[1]
    sums = np.zeros(len(n), dtype=np.float64)
    for d in np.unique(days).tolist():
        sel = days == d
        span = min(int(d), width)
        sums[sel] = np.einsum("ij->i", x[sel][:, width - span :].astype(np.float64))
    counted = np.minimum(days, n).astype(np.float64)
    return np.divide(sums, counted, out=np.zeros(len(n)), where=counted > 0)


def _order_rates_dropped(x: IntArray, dropped: Bool, days: I64) -> F64:
    """The core's ``order_rate`` with ``dropped`` days left out (rows of one window group)."""
    x = np.maximum(x, 0)
    width = x.shape[1]
    cols = np.arange(width)[None, :]
    keep = ~dropped
    xc = np.where(keep, x, 0).astype(np.float64)
    selling = xc > 0
    first = np.where(selling.any(axis=1), selling.argmax(axis=1), width)
    lo = np.maximum(width - days, first)
    inside = keep & (cols >= lo[:, None])
    counted = inside.sum(axis=1).astype(np.float64)
    recent = np.einsum("ij->i", np.where(inside, xc, 0.0))
    history = (keep & (cols >= first[:, None])).sum(axis=1).astype(np.float64)
    total = np.einsum("ij->i", xc)
    whole = np.divide(total, history, out=np.zeros(len(first)), where=history > 0)
    rates: F64 = np.where(counted > 0, recent / np.maximum(counted, 1.0), whole)
    return rates


def _empirical(
    x: IntArray, n: I64, lead_days: I64, csl: F64, rows: Bool, memo: dict[Any, Any] | None = None
) -> I64:
    """Return the CSL-quantile of each row's order windows (the core's ``order_window_sums``:
    a selling day's sales plus the next L days'), −1 if the row has none.

    Rows are ordered by L so each L is one contiguous slice of the cumulative sums. Windows that
    start before the first sale, on a day without sales or do not exist for this L get a
    sentinel that sorts last, so the quantile index counts only real windows (as the core does).
    The sorted sums do not depend on the CSL: ``memo`` keeps them for the next call on the same
    rows.
    """
    out = np.full(len(n), _NONE, dtype=np.int64)
    sel = np.flatnonzero(rows & (n > lead_days))
    if not len(sel):
        return out
    key = ("empirical", x.shape, sel.tobytes(), lead_days[sel].tobytes(), n[sel].tobytes())
    if memo is not None and key in memo:
        sel, sums, m = memo[key]
    else:
        sel, sums, m = _sorted_sums(x, n, lead_days, sel)
        if memo is not None:
            memo[key] = (sel, sums, m)
    idx = np.minimum(m - 1, np.maximum(np.ceil(csl[sel] * m).astype(np.int64) - 1, 0))
    found = sums[np.arange(len(sel)), np.maximum(idx, 0)].astype(np.int64)
    out[sel] = np.where(m > 0, found, _NONE)
    return out


def _sorted_sums(x: IntArray, n: I64, lead_days: I64, sel: I64) -> tuple[I64, IntArray, I64]:
    """Return the rows ordered by L, their order-window sums sorted (sentinels last) and how
    many real windows each row has."""
    width = x.shape[1]
    sel = sel[np.argsort(lead_days[sel], kind="stable")]
    ld = lead_days[sel]
    block = x[sel]
    if block.min() < 0:
        block = np.maximum(block, 0)
    # int32 sorts several times faster (SIMD); int64 only when a row's total could overflow it
    small = int(block.max(initial=0)) * width < np.iinfo(np.int32).max
    dtype = np.int32 if small else np.int64
    big = np.iinfo(dtype).max
    csum = np.zeros((len(sel), width + 1), dtype=dtype)
    np.cumsum(block, axis=1, dtype=dtype, out=csum[:, 1:])
    sums = np.full((len(sel), width), big, dtype=dtype)
    values, starts = np.unique(ld, return_index=True)
    bounds = [*starts.tolist(), len(sel)]
    for j, lv in enumerate(values.tolist()):
        lo, hi = bounds[j], bounds[j + 1]
        span = lv + 1  # the selling day and the L days after it
        np.subtract(
            csum[lo:hi, span:], csum[lo:hi, : width + 1 - span], out=sums[lo:hi, : width + 1 - span]
        )
    start = width - n[sel]
    cols = np.arange(width)[None, :]
    invalid = (cols < start[:, None]) | (block <= 0) | (cols > width - 1 - ld[:, None])
    sums[invalid] = big
    m = (~invalid).sum(axis=1)
    sums.sort(axis=1)
    return sel, sums, m


def _chunk(
    x: IntArray,
    t: _PolicyTable,
    pi: I64,
    lead: F64,
    lead_sd: F64,
    up: tuple[F64, F64, Bool],
    lm: F64,
    has_lp: Bool,
    mk: npt.NDArray[np.int8] | None,
    o: dict[str, npt.NDArray[Any]],
    promised: F64,
    learned: Sequence[LearnedLeadTime | None],
    memo: dict[Any, Any] | None = None,
) -> None:
    rows = len(pi)
    width = x.shape[1]
    n = np.empty(rows, dtype=np.int64)
    s1 = np.empty(rows, dtype=np.float64)
    s2 = np.empty(rows, dtype=np.float64)
    k = np.empty(rows, dtype=np.int64)
    vsum = np.empty(rows, dtype=np.float64)
    recent = np.empty(rows, dtype=np.int64)
    window = np.minimum(t.window[pi], width)  # a longer window is all leading zeros
    vdays = t.velocity_days[pi]
    groups = {(min(int(w), width), int(v)) for w, v in zip(t.window, t.velocity_days, strict=True)}
    for w, v in groups:
        mask = (window == w) & (vdays == v)
        if not mask.any():
            continue
        block = x[:, width - w :]
        if mask.all():
            key = ("stats", w, v, rows)
            if memo is None or key not in memo:
                found_stats = _stats(block, v)
                if memo is not None:
                    memo[key] = found_stats
            else:
                found_stats = memo[key]
            n[:], s1[:], s2[:], k[:], vsum[:], recent[:] = found_stats
        else:
            res = _stats(block[mask], v)
            for dst, src in zip((n, s1, s2, k, vsum, recent), res, strict=True):
                dst[mask] = src
    velocity = vsum / vdays.astype(np.float64)
    odays = t.order_days[pi]
    d_order = np.zeros(rows, dtype=np.float64)
    for w in np.unique(window).tolist():
        sel = window == w
        d_order[sel] = _order_rates(x[sel][:, width - w :], n[sel], odays[sel])
    new = n < t.min_history[pi]  # on the raw history: a new item has no baseline to clean
    noted = np.zeros(rows, dtype=np.bool_)
    kept = np.zeros(rows, dtype=np.bool_)
    use = np.zeros(rows, dtype=np.bool_)
    raw_first = np.full(rows, _NONE, dtype=np.int64)
    clean_n = np.zeros(rows, dtype=np.int64)
    dropped_rows: dict[int, Bool] = {}
    if mk is not None:
        for w, v in groups:
            marked = (mk[:, width - w :] != 0).any(axis=1)
            sel = np.flatnonzero((window == w) & (vdays == v) & ~new & marked)
            if not len(sel):
                continue
            cs = _clean_stats(x[sel, width - w :], mk[sel, width - w :], v)
            counts = cs.dropped.any(axis=1)
            short = cs.n < t.min_history[pi[sel]]
            apply = counts & ~short
            noted[sel], kept[sel] = counts, counts & short
            raw_first[sel], clean_n[sel] = cs.raw_first, cs.n
            rows_used = sel[apply]
            use[rows_used] = True
            n[rows_used], s1[rows_used], s2[rows_used] = cs.n[apply], cs.s1[apply], cs.s2[apply]
            k[rows_used], recent[rows_used] = cs.k[apply], cs.recent[apply]
            velocity[rows_used] = cs.velocity[apply]
            if len(rows_used):
                d_order[rows_used] = _order_rates_dropped(
                    x[rows_used, width - w :], cs.dropped[apply], odays[rows_used]
                )
            for j in np.flatnonzero(apply).tolist():
                dropped_rows[int(sel[j])] = cs.dropped[j]
    nf = n.astype(np.float64)
    mean = np.divide(s1, nf, out=np.zeros(rows), where=n > 0)
    den = nf * (nf - 1.0)
    var_num = np.maximum(nf * s2 - s1 * s1, 0.0)
    sd_hist = np.sqrt(np.divide(var_num, den, out=np.zeros(rows), where=n >= 2))

    review = t.review[pi].copy()
    review[lead + review == 0] = 1.0  # L = 0 would give SS = ROP = 0
    strat = t.strategy[pi]
    new_rate = t.new_rate[pi]
    fallback = recent < t.min_selling[pi]
    rate = np.where(new, new_rate, np.where(fallback, mean, velocity))
    sd = np.where(new, np.sqrt(new_rate), sd_hist)
    new_days = t.new_days[pi]
    rule = new & ~np.isnan(new_days) & (strat != FIXED)
    strat = np.where(rule, FIXED, strat)
    fixed = np.where(rule, new_rate * new_days, t.fixed[pi])

    selling_ok = k > 0
    adi = np.divide(nf, k, out=np.zeros(rows), where=selling_ok)
    intermittent = selling_ok & (adi > SBC_ADI)
    lead_days = np.maximum(np.ceil(lead + review), 1).astype(np.int64)
    wants = ~new & intermittent & t.empirical[pi]
    lead_demand = np.full(rows, _NONE, dtype=np.int64)
    is_learned = np.array([x is not None for x in learned], dtype=np.bool_)
    if not learned:
        is_learned = np.zeros(rows, dtype=np.bool_)
    beta = t.fill_rate[pi]
    lumpy_beta = np.where(np.isnan(beta), t.intermittent_fill[pi], beta)
    lumpy_fill = wants & ~np.isnan(lumpy_beta)
    cycle = t.order_cycle[pi]
    plain = wants & ~use & ~is_learned & ~lumpy_fill
    if plain.any():
        for w in np.unique(window[plain]).tolist():
            sel = plain & (window == w)
            found = _empirical(x[:, width - w :], n, lead_days, t.service_level[pi], sel, memo)
            lead_demand[sel] = found[sel]
    # Rows with days left out have a gapped history, rows with a learned lead time a mixture of
    # windows: the core's quantile, one row at a time.
    for r in np.flatnonzero(wants & (use | is_learned | lumpy_fill)).tolist():
        w = int(window[r])
        row = x[r, width - w :].tolist()
        # A gapped history without its marked days, else without the leading zeros (the core).
        hist = clean_history(row, dropped_rows[r].tolist()) if use[r] else row[w - int(n[r]) :]
        alpha = float(t.service_level[pi[r]])
        found_lt = learned[r] if learned else None
        if lumpy_fill[r]:
            qty = fill_quantity(float(mean[r]), float(promised[r]), float(cycle[r]))
            lead_points = found_lt.points if found_lt is not None else ((float(lead[r]), 1.0),)
            got = empirical_fill_demand(
                hist, float(review[r]), lead_points, (1 - float(lumpy_beta[r])) * qty
            )
        elif found_lt is not None:
            got = empirical_mixture_demand(hist, float(review[r]), found_lt.points, alpha)
        else:
            got = empirical_lead_time_demand(hist, int(lead_days[r]), alpha)
        lead_demand[r] = _NONE if got is None else got

    has_ld = lead_demand >= 0
    # The target the row is sized for: an intermittent one only where its windows were found.
    beta = np.where(lumpy_fill & has_ld, lumpy_beta, beta)
    has_beta = ~np.isnan(beta) & ~new
    # Intermittent items with an empirical reorder point take d̄ from the window mean (core).
    rate = np.where(has_ld & ~fallback & (recent > 0), mean, rate)
    # Orders are sized without any promotion: the new-item rule rate, a lumpy item's window
    # mean, else the recent clean mean (the core's order_rate).
    d_order = np.where(new, new_rate, np.where(has_ld, mean, d_order))
    up_rate, up_sd, has_up = up
    if has_up.any():
        rate = np.where(has_up, rate * up_rate, rate)
        sd = np.where(has_up, sd * up_sd, sd)
        promo_ld = np.ceil(lead_demand * up_rate).astype(np.int64)
        lead_demand = np.where(has_ld & has_up, promo_ld, lead_demand)

    buffer_days = t.buffer_days[pi]
    kk = rate * buffer_days + t.buffer_units[pi]
    lr = lead + review
    # normal safety stock and reorder point, in the core's operation order
    ss = np.maximum(t.z[pi] * np.sqrt(lr * sd * sd + rate * rate * lead_sd**2), 0.0)
    rop = rate * lr + ss
    if has_ld.any():  # empirical: the quantile of lead-time demand
        ld_f = lead_demand.astype(np.float64)
        # A learned row's SS is measured against the declared lead time, as in the core.
        base = np.where(is_learned, promised + review, lr)
        ss = np.where(has_ld, np.maximum(ld_f - rate * base, 0.0), ss)
        rop = np.where(has_ld, np.maximum(ld_f, rate * lr), rop)
    fill_qty = np.where(has_beta, np.maximum(d_order * np.maximum(cycle, promised), 1.0), np.nan)
    allowed = (1 - beta) * fill_qty
    dist = np.flatnonzero(is_learned & ~has_ld & ~has_beta)
    if len(dist):  # the demand quantile over the learned lead-time distribution
        points = [learned[int(j)].points for j in dist]  # type: ignore[union-attr]
        q = demand_quantiles(rate[dist], sd[dist], review[dist], points, t.service_level[pi][dist])
        rop[dist] = q
        ss[dist] = np.maximum(q - rate[dist] * (promised[dist] + review[dist]), 0.0)
    mixed = np.flatnonzero(is_learned & ~has_ld & has_beta)
    if len(mixed):  # fill rate: the expected shortage over the learned lead-time distribution
        points = [learned[int(j)].points for j in mixed]  # type: ignore[union-attr]
        level = lead_time_fill_levels(rate[mixed], sd[mixed], review[mixed], points, allowed[mixed])
        ss[mixed] = np.maximum(level - rate[mixed] * (promised[mixed] + review[mixed]), 0.0)
        rop[mixed] = np.maximum(level, rate[mixed] * lr[mixed])
    normal = np.flatnonzero(~is_learned & ~has_ld & has_beta)
    if len(normal):  # fill rate, one normal lead-time demand
        mean_lt = rate[normal] * lr[normal]
        scale = np.sqrt(
            lr[normal] * sd[normal] * sd[normal]
            + rate[normal] * rate[normal] * lead_sd[normal] ** 2
        )
        level = fill_levels(
            mean_lt[:, None],
            scale[:, None],
            np.ones((len(normal), 1)),
            np.ones((len(normal), 1), dtype=np.bool_),
            allowed[normal],
        )
        ss[normal] = np.maximum(level - mean_lt, 0.0)
        rop[normal] = rate[normal] * lr[normal] + ss[normal]

    # Only the strategies some row uses are evaluated.
    single = strat != COMBINED
    used = set(np.unique(strat[single]).tolist())
    if not single.all():
        used |= set(np.flatnonzero(t.combine[np.unique(pi[~single])].any(axis=0)).tolist())
    triples: dict[int, tuple[F64, F64, F64]] = {}
    if FIXED in used:
        triples[FIXED] = (1.5 * fixed, fixed, 0.5 * fixed)
    if SAFETY in used:
        t2s = ss + kk
        triples[SAFETY] = (t2s + rate * t.attention_days[pi], t2s, ss)
    if ROP in used:
        triples[ROP] = (rop + kk, rop, ss)
    if COVER in used:
        triples[COVER] = (rate * (lr + buffer_days), rate * lead, rate * t.cover_t3_days[pi])
    codes = np.unique(strat).tolist()
    if len(codes) == 1 and codes[0] != COMBINED:
        raw = np.array(triples[codes[0]])
    else:
        raw = np.zeros((3, rows))
        for code in codes:
            if code != COMBINED:
                raw[:, strat == code] = np.array(triples[code])[:, strat == code]
        if not single.all():
            comb = t.combine[pi]  # (rows, 4)
            best = np.full((3, rows), -np.inf)
            for code, triple in triples.items():
                use = comb[:, code] & ~single
                best = np.where(use[None, :], np.maximum(best, np.array(triple)), best)
            raw = np.where(single[None, :], raw, best)

    threshold = raw[1].copy()
    kinds = t.spec_kind[pi]
    values = t.spec_value[pi]
    for c in range(3):
        kind, value = kinds[:, c], values[:, c]
        if (kind == _NONE).all():
            continue
        spec = np.select(
            [kind == 0, kind == 1, kind == 2],
            [value, value * threshold, rate * value],
            rate * np.maximum(lead + value, 0.0),
        )
        raw[c] = np.where(kind == _NONE, raw[c], spec)
    if has_lp.any():
        raw = np.where(has_lp[None, :], raw * lm[None, :], raw)

    error = ~np.isfinite(raw).all(axis=0) | ((lead_sd > lead) & ~is_learned)
    safe = np.where(np.isfinite(raw), raw, 0.0)
    lv = np.ceil(safe - 1e-9).astype(np.int64)
    t1, t2, t3 = lv[0], lv[1], lv[2]
    floor = t.t3_floor[pi]
    floored = t3 < floor
    t3 = np.where(floored, floor, t3)
    if t.has_manual[pi].any():
        t1, t2, t3 = _manual(t, pi, t1, t2, t3)
    t2_clamp = t2 < t3
    t2_before = np.where(t2_clamp, t2, _NONE)
    t2 = np.maximum(t2, t3)
    t1_clamp = t1 < t2
    t1_before = np.where(t1_clamp, t1, _NONE)
    t1 = np.maximum(t1, t2)

    disabled = t.manual[pi][:, 3] == 0
    o["t1"][:] = np.where(disabled, 0, t1)
    o["t2"][:] = np.where(disabled, 0, t2)
    o["t3"][:] = np.where(disabled, 0, t3)
    o["disabled"][:] = disabled
    o["error"][:] = error & ~disabled
    o["strategy"][:] = strat
    o["new_item"][:] = new
    o["rate"][:] = rate
    o["sd"][:] = sd
    o["review"][:] = review
    o["k"][:] = kk
    uses_ss = (
        (strat == SAFETY)
        | (strat == ROP)
        | ((strat == COMBINED) & (t.combine[pi][:, SAFETY] | t.combine[pi][:, ROP]))
    )
    o["ss"][:] = np.where(uses_ss, ss, np.nan)
    o["rop"][:] = np.where(uses_ss, rop, np.nan)
    o["raw"][:] = raw.T
    o["history_days"][:] = n
    o["velocity7"][:] = velocity
    o["order_rate"][:] = d_order
    o["fill_qty"][:] = fill_qty
    o["fill_beta"][:] = np.where(has_beta, beta, np.nan)
    o["recent_selling_days"][:] = recent
    o["selling_days"][:] = k
    o["lead_demand"][:] = lead_demand
    o["intermittent"][:] = intermittent & ~new
    o["t3_floored"][:] = floored
    o["t2_before_clamp"][:] = t2_before
    o["t1_before_clamp"][:] = t1_before
    o["baseline_noted"][:] = noted
    o["baseline_kept"][:] = kept
    o["raw_first"][:] = raw_first
    o["clean_days"][:] = clean_n


def _manual(t: _PolicyTable, pi: I64, t1: I64, t2: I64, t3: I64) -> tuple[I64, I64, I64]:
    """Vectorised ``_apply_manual``: hand-set levels win, computed ones give way."""
    m = t.manual[pi]
    has = t.has_manual[pi]
    mt1, mt2, mt3, mth = m[:, 0], m[:, 1], m[:, 2], m[:, 3]
    t2 = np.where(mth >= 0, mth, t2)
    t1 = np.where(mt1 >= 0, mt1, t1)
    t2 = np.where(mt2 >= 0, mt2, t2)
    t3 = np.where(mt3 >= 0, mt3, t3)
    raise3 = has & (mt3 < 0) & (t3 > t2)
    t3 = np.where(raise3, np.maximum(t2, 1), t3)
    lower2 = (mt1 >= 0) & (t2 > t1) & (mt2 < 0)
    t2 = np.where(lower2, t1, t2)
    t3 = np.where(lower2, np.minimum(t3, t2), t3)
    return (
        np.where(has, np.maximum(t1, 1), t1),
        np.where(has, np.maximum(t2, 1), t2),
        np.where(has, np.maximum(t3, 1), t3),
    )


def seed_kernel(
    sales: IntArray,
    z: F64,
    lead: F64,
    lead_sd: F64,
    k: F64,
    is_new: Bool,
    new_rate: float,
    mult: F64,
    on_hand: F64,
    *,
    velocity_days: int = 7,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[F64, F64, F64, F64, npt.NDArray[np.int8]]:
    """The benchmark kernel of inventory-math §9, the one every peer method reproduces.

    σ = sample std over the whole window (no trimming), d̄ = mean of the last 7 days; new items
    take the rule rate with σ = √rate; promotions multiply d̄ and σ; SS = Z·√(L·σ² + d̄²·σL²) is
    T3, ROP = d̄·L + SS is T2, T1 = ROP + k; cover = on_hand / d̄ (∞ at 0) and the tier is 0–3.
    Returns (SS, ROP, T1, cover, tier). Exact integer moments (held in float64, exact below
    2^53), streamed in row chunks.
    """
    n_rows, width = sales.shape
    ss = np.empty(n_rows)
    rop = np.empty(n_rows)
    t1 = np.empty(n_rows)
    cover = np.empty(n_rows)
    tier = np.empty(n_rows, dtype=np.int8)
    den = width * (width - 1.0)
    new_sd = math.sqrt(new_rate)
    for lo in range(0, n_rows, chunk_rows):
        hi = min(lo + chunk_rows, n_rows)
        x = sales[lo:hi].astype(np.float64)  # integer sums below 2^53 stay exact
        s1 = np.einsum("ij->i", x)
        s2 = np.einsum("ij,ij->i", x, x)
        sd = np.sqrt((width * s2 - s1 * s1) / den)
        d = np.einsum("ij->i", x[:, -velocity_days:]) / velocity_days
        new = is_new[lo:hi]
        m = mult[lo:hi]
        sd = np.where(new, new_sd, sd) * m
        d = np.where(new, new_rate, d) * m
        sl = lead_sd[lo:hi]
        ln = lead[lo:hi]
        s = z[lo:hi] * np.sqrt(ln * sd * sd + d * d * sl * sl)
        r = d * ln + s
        t = r + k[lo:hi]
        oh = on_hand[lo:hi]
        ss[lo:hi], rop[lo:hi], t1[lo:hi] = s, r, t
        cover[lo:hi] = np.divide(oh, d, out=np.full(hi - lo, np.inf), where=d > 0)
        tier[lo:hi] = np.where(oh <= s, 3, np.where(oh <= r, 2, np.where(oh <= t, 1, 0)))
    return ss, rop, t1, cover, tier
