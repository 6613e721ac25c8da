"""A whole-catalogue backtest: every candidate policy × every item, levels and simulation in numpy.

The per-item reference is ``core.tuning.replay_item``; this module gives the same numbers for
every (candidate, item) row at once: levels with ``compute_bulk`` (one call per candidate over
all items), then ``simulate_bulk`` over all rows. Lead times of simulated orders are one matrix
shared by every candidate (common random numbers), so differences between policies are the
policies' and not the dice's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from stockwatch.bulk.backtest import BulkOutcome, RowParams, simulate_bulk
from stockwatch.bulk.levels import (
    BulkLevels,
    baseline_marks,
    compute_bulk,
    demand_uplifts,
    horizons,
    promotion_index,
)
from stockwatch.core.backtest import SimOutcome
from stockwatch.core.model import Item
from stockwatch.core.thresholds import Promotion, ThresholdPolicy
from stockwatch.core.tuning import (
    Candidate,
    Metrics,
    frontier,
    item_for,
    service_level_for_fill_rate,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
IntArray = npt.NDArray[np.integer[Any]]
Resolve = Callable[[Item | None, str], ThresholdPolicy]
DEFAULT_LEAD_DAYS = 7.0


@dataclass
class ReplayData:
    """The catalogue's history around the replayed period, one row per item."""

    skus: list[str]
    items: list[Item | None]
    before: IntArray  # (items, window) daily sales before the first replayed day
    demand: IntArray  # (items, days) daily sales during the replay
    start_on_hand: IntArray  # (items,) stock at the start; −1 when unknown
    as_of: date  # the first replayed day
    prices: F64 | None = None  # (items,) unit price, nan when unknown
    lead_samples: list[Sequence[float]] = field(default_factory=list)  # per item, may be empty
    actual_on_hand: IntArray | None = None  # (items, days) real end-of-day stock, −1 unknown
    promotions: Sequence[Promotion] = ()
    names: list[str] = field(default_factory=list)  # item keys as shown (SKU@warehouse)

    def __post_init__(self) -> None:
        n = len(self.skus)
        if not self.names:
            self.names = list(self.skus)
        if len(self.items) != n or self.before.shape[0] != n or self.demand.shape[0] != n:
            raise ValueError("skus, items, before and demand need one row per item")
        if len(self.start_on_hand) != n:
            raise ValueError("start_on_hand needs one value per item")
        if not self.lead_samples:
            self.lead_samples = [() for _ in range(n)]

    @property
    def days(self) -> int:
        return int(self.demand.shape[1])


@dataclass
class CandidateResult:
    """One candidate over every item: per-item arrays and what could not be computed."""

    candidate: Candidate
    outcome: BulkOutcome  # rows in item order
    t1: I64
    t2: I64
    t3: I64
    order_up_to: F64
    service_level: F64
    errors: dict[int, str]  # item row → why it has no levels (left out of the metrics)

    def item_metrics(self, row: int, price: float | None = None) -> Metrics:
        o = self.outcome
        return Metrics.of(
            SimOutcome(
                days=o.days,
                demand=int(o.demand[row]),
                sold=int(o.sold[row]),
                lost=int(o.lost[row]),
                stockout_days=int(o.stockout_days[row]),
                notices=int(o.notices[row]),
                orders=int(o.orders[row]),
                units_ordered=int(o.units_ordered[row]),
                stock_sum=int(o.stock_sum[row]),
            ),
            price,
        )

    def total(self, prices: F64 | None, rows: IntArray | None = None) -> Metrics:
        o = self.outcome
        keep = np.ones(len(o.demand), dtype=np.bool_)
        if self.errors:
            keep[list(self.errors)] = False
        if rows is not None:
            only = np.zeros(len(keep), dtype=np.bool_)
            only[np.asarray(rows, dtype=np.int64)] = True
            keep &= only
        value_sum, priced = 0.0, 0
        if prices is not None:
            known = keep & np.isfinite(prices)
            value_sum = float((o.stock_sum[known] * prices[known]).sum())
            priced = int(known.sum())
        return Metrics(
            items=int(keep.sum()),
            days=o.days,
            demand=int(o.demand[keep].sum()),
            sold=int(o.sold[keep].sum()),
            lost=int(o.lost[keep].sum()),
            stockout_days=int(o.stockout_days[keep].sum()),
            notices=int(o.notices[keep].sum()),
            orders=int(o.orders[keep].sum()),
            units_ordered=int(o.units_ordered[keep].sum()),
            stock_sum=int(o.stock_sum[keep].sum()),
            value_sum=value_sum,
            priced=priced,
        )


@dataclass
class SweepResult:
    data: ReplayData
    results: list[CandidateResult]  # the policy in force first

    def totals(self) -> dict[str, Metrics]:
        return {r.candidate.name: r.total(self.data.prices) for r in self.results}

    def frontier(self) -> list[str]:
        points = {}
        for name, m in self.totals().items():
            points[name] = (float(m.stockout_days), m.mean_stock, float(m.notices))
        return frontier(points)

    def by_name(self, name: str) -> CandidateResult:
        for r in self.results:
            if r.candidate.name == name:
                return r
        raise KeyError(name)


def lead_matrix(
    data: ReplayData,
    declared: F64,
    declared_sd: F64,
    *,
    sampled: bool,
    seed: int,
) -> I64:
    """Return (items, days) lead times in whole days for orders placed on each day.

    Observed: the mean of the item's received orders (else its declared lead time), rounded up.
    Sampled: a seeded draw per day from the received orders (else a normal around the declared
    lead time with its σ), rounded up; at least one day either way.
    """
    n, days = data.demand.shape
    clean = [[float(x) for x in row if math.isfinite(x) and x >= 0] for row in data.lead_samples]
    counts = np.array([len(row) for row in clean], dtype=np.int64)
    if not sampled:
        sums = np.array([math.fsum(row) for row in clean], dtype=np.float64)
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), declared)
        return np.repeat(np.maximum(np.ceil(mean - 1e-9), 1).astype(np.int64)[:, None], days, 1)
    rng = np.random.default_rng(seed)
    out = np.empty((n, days), dtype=np.float64)
    known = np.flatnonzero(counts > 0)
    if known.size:  # a uniform pick among each item's received orders
        padded = np.zeros((known.size, int(counts.max())), dtype=np.float64)
        for k, row in enumerate(known.tolist()):
            padded[k, : counts[row]] = clean[row]
        pick = (rng.random((known.size, days)) * counts[known][:, None]).astype(np.int64)
        out[known] = np.take_along_axis(padded, pick, axis=1)
    unknown = np.flatnonzero(counts == 0)
    if unknown.size:  # a normal around the declared lead time with its σ
        draw = rng.standard_normal((unknown.size, days))
        out[unknown] = declared[unknown][:, None] + declared_sd[unknown][:, None] * draw
    out = np.ceil(out - 1e-9)
    return np.maximum(out, 1).astype(np.int64)


def declared_lead(items: Sequence[Item | None], policies: Sequence[ThresholdPolicy]) -> F64:
    return np.array(
        [
            it.lead_time_days
            if it is not None and it.lead_time_days is not None
            else p.lead_time_days
            for it, p in zip(items, policies, strict=True)
        ],
        dtype=np.float64,
    )


def run_sweep(
    data: ReplayData,
    candidates: Sequence[Candidate],
    resolve: Resolve,
    *,
    group_of: Callable[[Item | None, str], object] | None = None,
    sampled_leads: bool = False,
    seed: int = 0,
    trace_items: Sequence[int] = (),
    recompute_days: Sequence[int] = (),
) -> SweepResult:
    """Replay every candidate over every item; the first candidate is the policy in force.

    ``recompute_days`` (day offsets into the replay) recompute every candidate's levels from
    the sales known by then, as ``replay_item`` does (the levels shown are the first ones)."""
    n = len(data.skus)
    base, errors = _base_policies(data, resolve, group_of)
    fallback = ThresholdPolicy()
    bases = [b if b is not None else fallback for b in base]
    lead = declared_lead(data.items, bases)
    lead_sd = np.array(
        [
            (it.lead_time_sd_days or 0.0)
            if it is not None and it.lead_time_days is not None
            else p.lead_time_sd_days
            for it, p in zip(data.items, bases, strict=True)
        ],
        dtype=np.float64,
    )
    leads = lead_matrix(data, lead, lead_sd, sampled=sampled_leads, seed=seed)
    start = np.asarray(data.start_on_hand, dtype=np.int64)
    # Policies are resolved once per distinct base policy, not once per item and candidate.
    distinct: dict[ThresholdPolicy, int] = {}
    base_index = np.array([distinct.setdefault(b, len(distinct)) for b in bases], dtype=np.int64)
    believed: dict[str, list[Item | None]] = {}
    for model in {c.lead_model for c in candidates}:
        believer = Candidate("", lead_model=model)
        believed[model] = [
            item_for(believer, item, samples)
            for item, samples in zip(data.items, data.lead_samples, strict=True)
        ]
    segments = [0, *sorted({d for d in recompute_days if 0 < d < data.days})]
    history = np.concatenate([data.before, data.demand], axis=1) if len(segments) > 1 else None
    by_segment = []
    for day in segments:
        seen = data if history is None else _as_of_day(data, history, day)
        columns = {model: _ItemColumns.of(seen, items) for model, items in believed.items()}
        shared: dict[Any, Any] = {}  # one history: candidates share its demand statistics
        by_segment.append(
            [
                _levels(seen, c, list(distinct), base_index, columns[c.lead_model], errors, shared)
                for c in candidates
            ]
        )
    per_candidate = by_segment[0]
    # The stock at the start, when no reading says it: as if just replenished under the policy
    # in force (the same for every candidate, so the comparison stays fair).
    first = per_candidate[0]
    unwatched = np.flatnonzero((start < 0) & first[5])
    for row in unwatched.tolist():
        errors.setdefault(
            row, "switched off in the policy in force and no stock reading: not replayed"
        )
    start = np.where(start < 0, np.ceil(np.where(first[5], 0, first[4])), start).astype(np.int64)
    moq = np.array([it.min_order_qty if it else 1 for it in data.items], dtype=np.int64)
    mult = np.array([it.order_multiple if it else 1 for it in data.items], dtype=np.int64)
    rows = np.tile(np.arange(n, dtype=np.int64), len(candidates))
    cat = [np.concatenate([c[i] for c in per_candidate]) for i in range(6)]
    t1, t2, t3, _, up_to, off = cat
    deb1 = np.repeat([c.debounce_t1 for c in candidates], n)
    deb2 = np.repeat([c.debounce_t2 for c in candidates], n)
    dedupe = np.repeat([c.dedupe_days for c in candidates], n)
    bad = np.concatenate([c[6] for c in per_candidate])
    disabled = off | bad  # rows without levels simulate nothing and are left out of totals
    trace_rows = tuple(k * n + i for k in range(len(candidates)) for i in trace_items)
    changes = []
    for day, later in zip(segments[1:], by_segment[1:], strict=True):
        c1, c2, c3, _, c_up, c_off = (np.concatenate([c[i] for c in later]) for i in range(6))
        c_bad = np.concatenate([c[6] for c in later])
        changes.append((day, RowParams(c1, c2, c3, c_up, c_off | c_bad, deb1, deb2, dedupe)))
    outcome = simulate_bulk(
        data.demand,
        leads,
        start,
        rows,
        RowParams(t1, t2, t3, up_to, disabled, deb1, deb2, dedupe),
        moq,
        mult,
        trace_rows=trace_rows,
        changes=changes,
    )
    results = []
    for k, candidate in enumerate(candidates):
        sl = slice(k * n, (k + 1) * n)
        part = BulkOutcome(
            demand=outcome.demand[sl],
            sold=outcome.sold[sl],
            lost=outcome.lost[sl],
            stockout_days=outcome.stockout_days[sl],
            notices=outcome.notices[sl],
            orders=outcome.orders[sl],
            units_ordered=outcome.units_ordered[sl],
            stock_sum=outcome.stock_sum[sl],
            days=outcome.days,
            on_hand={i: outcome.on_hand[k * n + i] for i in trace_items},
        )
        levels = per_candidate[k]
        row_errors = dict(errors)
        for segment in by_segment:  # a row without levels at some recompute is left out
            for row, why in segment[k][7].items():
                row_errors.setdefault(row, why)
        results.append(
            CandidateResult(
                candidate, part, levels[0], levels[1], levels[2], levels[4], levels[3], row_errors
            )
        )
    return SweepResult(data, results)


def _as_of_day(data: ReplayData, history: IntArray, day: int) -> ReplayData:
    """The replay as a recompute on ``day`` sees it: the same window width, ending the day
    before."""
    width = int(data.before.shape[1])
    return replace(
        data,
        before=history[:, day : day + width],
        demand=data.demand[:, day:],
        start_on_hand=data.start_on_hand,
        as_of=data.as_of + timedelta(days=day),
    )


def _base_policies(
    data: ReplayData, resolve: Resolve, group_of: Callable[[Item | None, str], object] | None
) -> tuple[list[ThresholdPolicy | None], dict[int, str]]:
    cache: dict[object, ThresholdPolicy | str] = {}
    out: list[ThresholdPolicy | None] = []
    errors: dict[int, str] = {}
    for row, (item, sku) in enumerate(zip(data.items, data.skus, strict=True)):
        key = group_of(item, sku) if group_of else (sku,)
        if key not in cache:
            try:
                cache[key] = resolve(item, sku)
            except ValueError as exc:
                cache[key] = str(exc)
        got = cache[key]
        if isinstance(got, str):
            errors[row] = got
            out.append(None)
        else:
            out.append(got)
    return out, errors


@dataclass(frozen=True)
class _ItemColumns:
    """What the levels need from the items under one lead-time model, computed once for every
    candidate: the items, their own lead time and σ (nan: the policy's), baseline marks."""

    items: list[Item | None]
    lead: F64
    lead_sd: F64
    marks: npt.NDArray[np.int8] | None

    @classmethod
    def of(cls, data: ReplayData, items: list[Item | None]) -> _ItemColumns:
        own = [it if it is not None and it.lead_time_days is not None else None for it in items]
        return cls(
            items,
            np.array([np.nan if it is None else it.lead_time_days for it in own]),
            np.array([np.nan if it is None else (it.lead_time_sd_days or 0.0) for it in own]),
            baseline_marks(items, data.promotions, data.as_of, int(data.before.shape[1])),
        )

    def leads(self, policies: Sequence[ThresholdPolicy], index: I64) -> tuple[F64, F64]:
        """Per row: the item's lead time and σ, else its policy's (``declared_lead``)."""
        lead = np.array([p.lead_time_days for p in policies], dtype=np.float64)[index]
        sd = np.array([p.lead_time_sd_days for p in policies], dtype=np.float64)[index]
        own = ~np.isnan(self.lead)
        return np.where(own, self.lead, lead), np.where(own, self.lead_sd, sd)


def _levels(
    data: ReplayData,
    candidate: Candidate,
    bases: Sequence[ThresholdPolicy],
    base_index: I64,
    items: _ItemColumns,
    errors: dict[int, str],
    shared: dict[Any, Any] | None = None,
) -> tuple[I64, I64, I64, F64, F64, npt.NDArray[np.bool_], npt.NDArray[np.bool_], dict[int, str]]:
    """Return the candidate's (t1, t2, t3, α, order-up-to, disabled, bad, errors) per item."""
    policies: list[ThresholdPolicy] = []
    clash: dict[int, str] = {}
    for number, base in enumerate(bases):
        try:
            policies.append(candidate.policy(base))
        except ValueError as exc:
            clash[number] = f"{candidate.name}: {exc}"
            policies.append(base)
    index = base_index
    bad_rows: dict[int, str] = {}
    if clash:
        for row in np.flatnonzero(np.isin(base_index, list(clash))).tolist():
            bad_rows[row] = clash[int(base_index[row])]
    bulk = _compute(data, items, policies, index, shared)
    if candidate.fill_rate is not None:
        policies, index = _fill_rate_policies(candidate.fill_rate, bulk, policies, index)
        bulk = _compute(data, items, policies, index, shared)
    bad = bulk.error.copy()
    for row in list(errors) + list(bad_rows):
        bad[row] = True
    for row in np.flatnonzero(bulk.error).tolist():
        bad_rows.setdefault(row, f"{data.skus[row]}: {bulk.error_message(row)}")
    alpha = np.array([p.service_level for p in policies], dtype=np.float64)[index]
    up_to = bulk.t1 + bulk.order_rate * bulk.lead  # the task's target: replenishment.suggest
    t1 = np.where(bad | bulk.disabled, 0, bulk.t1)
    t2 = np.where(bad | bulk.disabled, 0, bulk.t2)
    t3 = np.where(bad | bulk.disabled, 0, bulk.t3)
    up_to = np.where(bad | bulk.disabled, 0.0, up_to)
    return t1, t2, t3, alpha, up_to, bulk.disabled.copy(), bad, bad_rows


def _compute(
    data: ReplayData,
    columns: _ItemColumns,
    policies: list[ThresholdPolicy],
    index: I64,
    shared: dict[Any, Any] | None = None,
) -> BulkLevels:
    lead, lead_sd = columns.leads(policies, index)
    promos = list(data.promotions)
    items = columns.items
    return compute_bulk(
        data.before,
        policies,
        index,
        lead,
        lead_sd,
        promos,
        demand_uplifts(items, promos, data.as_of, horizons(policies, index, lead)),
        promotion_index(items, promos, data.as_of, lead, "threshold"),
        marks=columns.marks,
        as_of=data.as_of,
        memo=shared,
    )


def _fill_rate_policies(
    beta: float, bulk: BulkLevels, policies: list[ThresholdPolicy], index: I64
) -> tuple[list[ThresholdPolicy], I64]:
    """Give each item the α that reaches fill rate β (the scalar solver of the core, per item,
    so both paths round the same way)."""
    out: list[ThresholdPolicy] = []
    seen: dict[ThresholdPolicy, int] = {}
    new_index = np.zeros(len(index), dtype=np.int64)
    for row in range(len(index)):
        policy = policies[int(index[row])]
        if not (bulk.disabled[row] or bulk.error[row]):
            d, sd = float(bulk.rate[row]), float(bulk.sd[row])
            lead, lead_sd, review = (
                float(bulk.lead[row]),
                float(bulk.lead_sd[row]),
                float(bulk.review[row]),
            )
            sd_lt = math.sqrt((lead + review) * sd * sd + d * d * lead_sd * lead_sd)
            qty = max(float(bulk.k[row]) + d * lead, 1.0)
            alpha = round(service_level_for_fill_rate(beta, sd_lt, qty), 4)
            policy = replace(policy, service_level=alpha)
        if policy not in seen:
            seen[policy] = len(out)
            out.append(policy)
        new_index[row] = seen[policy]
    return out, new_index
