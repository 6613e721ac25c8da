"""The vectorised recompute reproduces the per-item reference ``compute_levels`` exactly."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import ndtri
from scipy.stats import norm

from stockwatch.bulk.levels import (
    baseline_marks,
    compute_bulk,
    demand_uplifts,
    horizons,
    promotion_index,
)
from stockwatch.core.model import Item
from stockwatch.core.thresholds import (
    ManualLevels,
    Promotion,
    Strategy,
    ThresholdPolicy,
    TierSpec,
    compute_levels,
)

AS_OF = date(2026, 11, 24)
WIDTH = 40


def _reference(policy, row, item, promotions, outs=(), learned=None):  # type: ignore[no-untyped-def]
    try:
        return compute_levels(policy, row, AS_OF, item, promotions, outs, lead_time=learned)
    except ValueError:
        return None


def _leads(items, policies, index):  # type: ignore[no-untyped-def]
    lead = np.array(
        [
            it.lead_time_days if it.lead_time_days is not None else policies[p].lead_time_days
            for it, p in zip(items, index, strict=True)
        ]
    )
    lead_sd = np.array(
        [
            (it.lead_time_sd_days or 0.0)
            if it.lead_time_days is not None
            else policies[p].lead_time_sd_days
            for it, p in zip(items, index, strict=True)
        ]
    )
    return lead, lead_sd


def assert_same(
    policies, index, items, sales, promotions=(), chunk_rows=3, outs=None, learned=None
):  # type: ignore[no-untyped-def]
    lead, lead_sd = _leads(items, policies, index)
    matrix = np.array(sales, dtype=np.int32).reshape(len(items), -1)
    promo_lead = lead.copy()  # promotions start L before: the learned L where there is one
    for i, lt in enumerate(learned or ()):
        if lt is not None:
            promo_lead[i] = lt.mean
    bulk = compute_bulk(
        matrix,
        policies,
        np.array(index),
        lead,
        lead_sd,
        promotions,
        demand_uplifts(items, promotions, AS_OF, horizons(policies, np.array(index), promo_lead)),
        promotion_index(items, promotions, AS_OF, promo_lead, "threshold"),
        marks=baseline_marks(items, promotions, AS_OF, matrix.shape[1], outs),
        as_of=AS_OF,
        chunk_rows=chunk_rows,
        learned=learned,
    )
    fast = bulk.levels_list()
    for i, item in enumerate(items):
        lt = learned[i] if learned else None
        out_days = outs[i] if outs else ()
        want = _reference(policies[index[i]], sales[i], item, promotions, out_days, lt)
        if want is None:
            assert bulk.error[i], f"row {i}: reference raised, bulk did not"
            assert fast[i] is None
            with pytest.raises(ValueError):
                bulk.levels(i)
            continue
        assert fast[i] == bulk.levels(i)
        assert not bulk.error[i], f"row {i}: {bulk.error_message(i)}"
        got = bulk.levels(i)
        assert (got.t1, got.t2, got.t3, got.disabled) == (want.t1, want.t2, want.t3, want.disabled)
        assert got.basis.strategy == want.basis.strategy
        assert got.basis.notes == want.basis.notes, (got.basis.notes, want.basis.notes)
        assert math.isclose(got.velocity, want.velocity, rel_tol=1e-9, abs_tol=1e-9)
        for (name, g), (wname, w) in zip(got.basis.inputs, want.basis.inputs, strict=True):
            assert name == wname
            assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-9), (i, name, g, w)
        steps = {s.label: s.value for s in want.basis.steps}
        if "SS" in steps and not math.isnan(bulk.ss[i]):
            assert math.isclose(bulk.ss[i], steps["SS"], rel_tol=1e-9, abs_tol=1e-9)
    return bulk


tier_specs = st.one_of(
    st.integers(1, 400).map(float).map(TierSpec.parse),
    st.sampled_from(["1.2x", "2x", "0.5x", "3d", "0.5d", "lead", "lead+2d", "lead-3d"]).map(
        TierSpec.parse
    ),
)


@st.composite
def policies(draw: st.DrawFn) -> ThresholdPolicy:
    strategy = draw(st.sampled_from(list(Strategy)))
    lead = draw(st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.0, 12.5]))
    fixed = draw(st.one_of(st.none(), st.floats(0, 300)))
    tiers = {}
    if draw(st.booleans()):
        for name in draw(st.sets(st.sampled_from(["T1", "T2", "T3"]), min_size=1)):
            tiers[name] = draw(tier_specs)
    manual = None
    if draw(st.integers(0, 5)) == 0:
        # Hand-set levels must be ordered (ManualLevels rejects T1 < T2 < T3 at load time).
        hand = sorted(draw(st.lists(st.integers(0, 200), min_size=3, max_size=3)), reverse=True)
        manual = ManualLevels(
            t1=draw(st.one_of(st.none(), st.just(hand[0]))),
            t2=draw(st.one_of(st.none(), st.just(hand[1]))),
            t3=draw(st.one_of(st.none(), st.just(hand[2]))),
            threshold=draw(st.one_of(st.none(), st.integers(0, 200))),
        )
    combine = tuple(
        draw(
            st.lists(
                st.sampled_from(
                    [Strategy.REORDER_POINT, Strategy.DAYS_OF_COVER, Strategy.SAFETY_STOCK]
                    + ([Strategy.FIXED] if fixed is not None else [])
                ),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
    )
    if strategy is Strategy.FIXED and fixed is None:
        fixed = draw(st.floats(1, 300))
    window = draw(st.sampled_from([WIDTH, 28, 10]))
    try:
        return ThresholdPolicy(
            strategy=strategy,
            combine=combine,
            service_level=draw(st.sampled_from([0.5, 0.9, 0.95, 0.98, 0.9999])),
            lead_time_days=lead,
            lead_time_sd_days=draw(st.floats(0, lead)),
            review_days=draw(st.sampled_from([0.0, 0.0, 1.0, 2.5])),
            buffer_days=draw(st.sampled_from([0.0, 2.0, 3.5])),
            buffer_units=draw(st.sampled_from([0.0, 5.0])),
            attention_days=draw(st.sampled_from([0.0, 3.0])),
            cover_t3_days=draw(st.sampled_from([0.5, 2.0])),
            window_days=window,
            velocity_days=draw(st.integers(1, min(window, 14))),
            order_rate_days=draw(st.sampled_from([1, 5, 28, 200])),
            min_selling_days=draw(st.integers(0, 4)),
            min_history_days=draw(st.sampled_from([0, 3, 14])),
            new_item_daily_sales=draw(st.sampled_from([0.0, 1.0, 2.0, 7.3])),
            new_item_days=draw(st.one_of(st.none(), st.sampled_from([5.0, 10.0]))),
            intermittent_method=draw(st.sampled_from(["empirical", "normal"])),
            fill_rate=draw(st.sampled_from([None, None, 0.9, 0.99, 0.999])),
            intermittent_fill_rate=draw(st.sampled_from([None, 0.99])),
            order_cycle_days=draw(st.sampled_from([0.0, 30.0])),
            fixed_threshold=fixed,
            tiers=tuple(sorted(tiers.items())),
            t3_floor=draw(st.sampled_from([1, 1, 4])),
            manual=manual,
        )
    except ValueError:
        # e.g. absolute tier levels drawn out of order: a configuration error, not our case
        return ThresholdPolicy(strategy=strategy, fixed_threshold=fixed, lead_time_days=lead)


@st.composite
def histories(draw: st.DrawFn) -> list[int]:
    kind = draw(st.sampled_from(["dense", "intermittent", "new", "zero", "returns", "big"]))
    lead_zeros = draw(st.integers(0, WIDTH))
    body = WIDTH - lead_zeros
    if kind == "dense":
        days = draw(st.lists(st.integers(0, 60), min_size=body, max_size=body))
    elif kind == "intermittent":
        days = [
            draw(st.sampled_from([0, 0, 0, 0, 24])) if draw(st.booleans()) else 0
            for _ in range(body)
        ]
    elif kind == "new":
        days = draw(st.lists(st.integers(0, 9), min_size=min(body, 5), max_size=min(body, 5)))
        days = [0] * (body - len(days)) + days
    elif kind == "zero":
        days = [0] * body
    elif kind == "returns":
        days = draw(st.lists(st.integers(-5, 8), min_size=body, max_size=body))
    else:
        days = draw(st.lists(st.integers(0, 100_000), min_size=body, max_size=body))
    return [0] * lead_zeros + days


@st.composite
def items(draw: st.DrawFn, sku: str) -> Item:
    lead = draw(st.one_of(st.none(), st.sampled_from([0.0, 2.0, 9.0])))
    lead_sd = None
    if lead is not None:
        lead_sd = draw(st.one_of(st.none(), st.floats(0, lead + 1)))  # sometimes σL > L
    return Item(
        sku=sku,
        category=draw(st.sampled_from(["", "数据线", "家居"])),
        tags=frozenset(draw(st.sets(st.sampled_from(["促销", "热卖"])))),
        lead_time_days=lead,
        lead_time_sd_days=lead_sd,
    )


PROMOS = (
    Promotion(
        "双12", AS_OF + timedelta(days=3), AS_OF + timedelta(days=5), 2.5, tags=frozenset({"促销"})
    ),
    Promotion("清仓", AS_OF - timedelta(days=2), AS_OF, 0.6, categories=frozenset({"家居"})),
    Promotion(
        "店庆", AS_OF, AS_OF + timedelta(days=1), 1.5, target="threshold", tags=frozenset({"热卖"})
    ),
    Promotion(
        "更大",
        AS_OF - timedelta(days=1),
        AS_OF + timedelta(days=9),
        3.0,
        categories=frozenset({"数据线"}),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_it_matches_the_per_item_reference_on_random_catalogues(data: st.DataObject) -> None:
    pols = data.draw(st.lists(policies(), min_size=1, max_size=4))
    n = data.draw(st.integers(1, 9))
    index = [data.draw(st.integers(0, len(pols) - 1)) for _ in range(n)]
    its = [data.draw(items(f"CAT-LAMP-{i}")) for i in range(n)]
    sales = [data.draw(histories()) for _ in range(n)]
    promos = PROMOS if data.draw(st.booleans()) else ()
    assert_same(pols, index, its, sales, promos, chunk_rows=data.draw(st.integers(1, 4)))


PAST_PROMOS = (
    *PROMOS,
    Promotion(
        "国庆",
        AS_OF - timedelta(days=30),
        AS_OF - timedelta(days=24),
        2.0,
        tags=frozenset({"促销"}),
    ),
    Promotion(
        "昨天",
        AS_OF - timedelta(days=3),
        AS_OF - timedelta(days=1),
        1.8,
        skus=frozenset({"CAT-LAMP-0"}),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_it_matches_the_reference_with_stockout_and_promotion_days_left_out(
    data: st.DataObject,
) -> None:
    pols = data.draw(st.lists(policies(), min_size=1, max_size=3))
    n = data.draw(st.integers(1, 8))
    index = [data.draw(st.integers(0, len(pols) - 1)) for _ in range(n)]
    its = [data.draw(items(f"CAT-LAMP-{i}")) for i in range(n)]
    sales = [data.draw(histories()) for _ in range(n)]
    outs = [
        {AS_OF - timedelta(days=d) for d in data.draw(st.sets(st.integers(1, WIDTH + 3)))}
        for _ in range(n)
    ]
    promos = PAST_PROMOS if data.draw(st.booleans()) else ()
    assert_same(pols, index, its, sales, promos, data.draw(st.integers(1, 4)), outs)


def test_stockout_days_are_left_out_in_bulk_as_in_example_4_5() -> None:
    # 83 days of 20 then the week of §4.5; day 3 of that week the shelf was empty.
    week = [18, 25, 0, 22, 19, 27, 21]
    policy = ThresholdPolicy(lead_time_days=7, window_days=90, min_selling_days=2)
    its = [Item("LAMP-OUT"), Item("LAMP-OK")]
    outs = [{AS_OF - timedelta(days=5)}, set()]
    bulk = assert_same([policy], [0, 0], its, [[20] * 83 + week] * 2, outs=outs)
    assert bulk.rate[0] == pytest.approx(132 / 6)  # 22.00: the censored 0 is not demand
    assert bulk.rate[1] == pytest.approx(132 / 7)  # 18.86
    assert bulk.history_days[0] == 89 and bulk.baseline_noted[0]
    assert "1 stockout day(s) (2026-11-19)" in bulk.levels(0).basis.notes[0]


def test_it_matches_the_reference_on_the_worked_examples() -> None:
    # 4.7 (a) over-cover: 10 units every 10 days is intermittent → empirical quantile = 10
    lumpy = [10 if i % 10 == 0 else 0 for i in range(WIDTH)]
    steady = [20, 14, 26, 20, 18, 22, 20] * 5 + [20] * 5
    silent_week = [5] * 33 + [0] * 7
    pols = [ThresholdPolicy(lead_time_days=7, lead_time_sd_days=2, window_days=WIDTH)]
    its = [Item(sku) for sku in ("LUMPY-LANTERN", "STEADY-STAPLER", "SLEEPY-SOFA")]
    bulk = assert_same(pols, [0, 0, 0], its, [lumpy, steady, silent_week])
    assert bulk.lead_demand[0] == 10 and bulk.intermittent[0]
    assert bulk.rate[2] == pytest.approx(5 * 33 / 40)  # fell back to the mean


def test_an_intermittent_item_takes_the_window_mean_in_bulk_as_in_the_core() -> None:
    lumpy = [0, 0, 12] * 13 + [0]  # the last 7 days hold 2 sales: velocity 24/7, mean 156/38
    pols = [ThresholdPolicy(lead_time_days=10, buffer_days=0, window_days=WIDTH)]
    bulk = assert_same(pols, [0], [Item("LUMPY-LANTERN")], [lumpy])
    assert bulk.intermittent[0] and bulk.lead_demand[0] >= 0
    assert bulk.rate[0] == pytest.approx(156 / 38) and bulk.velocity7[0] == pytest.approx(24 / 7)
    assert "d̄ is the 38-day mean" in bulk.levels(0).basis.notes[1]


def test_a_new_item_uses_the_rule_rate_example_4_8() -> None:
    policy = ThresholdPolicy(
        lead_time_days=10, service_level=0.90, new_item_daily_sales=2, buffer_days=0
    )
    bulk = assert_same([policy], [0], [Item("NEW-NEON-SIGN")], [[0] * 85 + [1, 3, 2, 2, 1]])
    assert bulk.levels(0).basis.strategy == "default"
    # SS = Φ⁻¹(0.90) · √2 · √10, checked with scipy's normal quantile
    assert bulk.ss[0] == pytest.approx(norm.ppf(0.90) * math.sqrt(2) * math.sqrt(10), rel=1e-12)
    assert bulk.t2[0] == math.ceil(20 + norm.ppf(0.90) * math.sqrt(20))


def test_safety_stock_agrees_with_scipy_on_several_items() -> None:
    rng = np.random.default_rng(7)
    sales = rng.poisson(rng.uniform(3, 30, 6)[:, None], (6, 90)).astype(np.int32)
    levels = [0.90, 0.95, 0.98, 0.99, 0.995, 0.9999]
    pols = [ThresholdPolicy(service_level=a, lead_time_days=7, lead_time_sd_days=2) for a in levels]
    lead = np.full(6, 7.0)
    bulk = compute_bulk(sales, pols, np.arange(6), lead, np.full(6, 2.0))
    for i, alpha in enumerate(levels):
        row = sales[i].astype(np.float64)
        d, sd = row[-7:].mean(), row.std(ddof=1)
        expected = ndtri(alpha) * math.sqrt(7 * sd**2 + d**2 * 4)
        assert bulk.ss[i] == pytest.approx(expected, rel=1e-12)
        assert bulk.rop[i] == pytest.approx(d * 7 + expected, rel=1e-12)


def test_example_4_1_levels_are_71_211_251() -> None:
    # Any history with d̄ = 20, σ = 6 gives the baseline SKU: build one with those moments.
    policy = ThresholdPolicy(lead_time_days=7, lead_time_sd_days=2, velocity_days=90)
    history = [14, 26] * 45  # mean 20, sample σ = 6·√(90/89)
    bulk = compute_bulk(
        np.array([history]), [policy], np.zeros(1, dtype=np.int64), np.array([7.0]), np.array([2.0])
    )
    sd = 6 * math.sqrt(90 / 89)
    ss = norm.ppf(0.95) * math.sqrt(7 * sd**2 + 400 * 4)
    assert bulk.ss[0] == pytest.approx(ss, rel=1e-12)
    assert (bulk.t3[0], bulk.t2[0], bulk.t1[0]) == (
        math.ceil(ss),
        math.ceil(140 + ss),
        math.ceil(180 + ss),
    )


def test_a_hand_disabled_item_is_off_and_a_bad_lead_time_is_an_error() -> None:
    off = ThresholdPolicy(manual=ManualLevels(threshold=0))
    on = ThresholdPolicy()
    its = [Item("OLD-MUG"), Item("WOBBLY-TABLE", lead_time_days=2, lead_time_sd_days=5)]
    bulk = assert_same([off, on], [0, 1], its, [[3] * WIDTH, [3] * WIDTH])
    assert bulk.disabled[0] and bulk.levels(0).disabled
    assert bulk.error[1] and "exceeds" in bulk.error_message(1)


def test_chunking_does_not_change_the_numbers() -> None:
    rng = np.random.default_rng(3)
    sales = rng.negative_binomial(0.5, 0.3, (1000, 90)).astype(np.int32)
    pols = [ThresholdPolicy(), ThresholdPolicy(strategy=Strategy.COMBINED, service_level=0.9)]
    idx = rng.integers(0, 2, 1000)
    lead, lead_sd = rng.uniform(1, 21, 1000), rng.uniform(0, 1, 1000)
    a = compute_bulk(sales, pols, idx, lead, lead_sd, chunk_rows=7)
    b = compute_bulk(sales, pols, idx, lead, lead_sd, chunk_rows=4096)
    for name in ("t1", "t2", "t3", "rate", "sd", "lead_demand"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.intermittent.sum() > 100  # the data really exercises the empirical path


def test_a_shared_memo_gives_every_policy_its_own_numbers() -> None:
    """A sweep computes several service levels over one history with one memo: statistics and
    sorted lead-time sums are shared, the quantiles and levels stay each policy's own."""
    rng = np.random.default_rng(4)
    sales = rng.negative_binomial(0.5, 0.3, (600, 90)).astype(np.int32)
    idx = np.zeros(600, dtype=np.int64)
    lead, lead_sd = rng.uniform(1, 21, 600), rng.uniform(0, 1, 600)
    memo: dict[object, object] = {}
    for alpha in (0.8, 0.95, 0.99, 0.8):
        pols = [ThresholdPolicy(service_level=alpha)]
        alone = compute_bulk(sales, pols, idx, lead, lead_sd, chunk_rows=256)
        shared = compute_bulk(sales, pols, idx, lead, lead_sd, chunk_rows=256, memo=memo)
        for name in ("t1", "t2", "t3", "rate", "sd", "lead_demand"):
            assert np.array_equal(getattr(alone, name), getattr(shared, name)), (alpha, name)
    assert len(memo) == 3 and any(k[0] == "empirical" for k in memo[0])  # type: ignore[index]


def test_a_window_longer_than_the_history_reads_as_leading_zeros() -> None:
    rng = np.random.default_rng(5)
    short = rng.poisson(4, (50, 30)).astype(np.int32)
    padded = np.hstack([np.zeros((50, 60), dtype=np.int32), short])
    args = ([ThresholdPolicy(velocity_days=45)], np.zeros(50, dtype=np.int64), np.full(50, 5.0))
    a = compute_bulk(short, *args, np.zeros(50))
    b = compute_bulk(padded, *args, np.zeros(50))
    for name in ("t1", "t2", "t3", "rate", "sd", "velocity7", "history_days"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def _scalar_seed(
    row: list[int],
    z: float,
    lead: float,
    lead_sd: float,
    k: float,
    new: bool,
    mult: float,
    on_hand: float,
) -> tuple[float, float, float, int]:
    """inventory-math §9.4's scalar reference for the benchmark kernel, one SKU at a time."""
    n = len(row)
    s1, s2 = sum(row), sum(v * v for v in row)
    sd = math.sqrt((n * s2 - s1 * s1) / (n * (n - 1)))
    d = sum(row[-7:]) / 7
    if new:
        sd, d = math.sqrt(2.0), 2.0
    sd, d = sd * mult, d * mult
    ss = z * math.sqrt(lead * sd * sd + d * d * lead_sd * lead_sd)
    rop = d * lead + ss
    tier = 3 if on_hand <= ss else 2 if on_hand <= rop else 1 if on_hand <= rop + k else 0
    return ss, rop, rop + k, tier


def test_the_benchmark_kernel_matches_its_scalar_reference() -> None:
    from stockwatch.bulk.levels import seed_kernel

    rng = np.random.default_rng(9)
    n = 3000
    sales = rng.negative_binomial(0.7, 0.3, (n, 90)).astype(np.int32)
    sales[:50] = 0  # nothing sold: d̄ = 0, cover = ∞
    z = rng.choice([1.2816, 1.6449, 2.0537], n)
    lead, lead_sd = rng.integers(1, 22, n).astype(float), rng.uniform(0, 1, n)
    k, on_hand = rng.uniform(0, 10, n), np.floor(rng.uniform(0, 120, n))
    new, mult = rng.random(n) < 0.03, np.where(rng.random(n) < 0.05, 2.5, 1.0)
    ss, rop, t1, cover, tier = seed_kernel(
        sales, z, lead, lead_sd, k, new, 2.0, mult, on_hand, chunk_rows=1000
    )
    for i in range(n):
        want = _scalar_seed(
            sales[i].tolist(), z[i], lead[i], lead_sd[i], k[i], bool(new[i]), mult[i], on_hand[i]
        )
        assert (ss[i], rop[i], t1[i]) == pytest.approx(want[:3], rel=1e-12, abs=1e-12)
        assert tier[i] == want[3]
    assert np.isinf(cover[:50][~new[:50]]).all()
