"""Lead times learned from received orders: blending, the lead-time distribution in the
reorder point, hand-computed cases and hypothesis properties."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.core.leadtime import (
    MIN_ITEM_ORDERS,
    MIN_SUPPLIER_ORDERS,
    blend,
    demand_quantile,
    expected_shortage,
    fill_rate_level,
    learn,
    mixture_cdf,
    normal_loss,
)
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.core.thresholds import ThresholdPolicy, compute_levels

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
AS_OF = date(2026, 12, 1)
STEADY = [20, 14, 26, 20, 17, 23, 20] * 13  # d̄ 20, σ ≈ 3.6


def test_blend_weights_the_declared_lead_time_as_two_orders() -> None:
    learned = blend([10, 10, 20], 10.0, 0.0, "item")
    # w = 3/5: each order 0.2, the declared 10 d the remaining 0.4.
    assert [p for p, _ in learned.points] == [10.0, 10.0, 20.0, 10.0]
    assert [w for _, w in learned.points] == pytest.approx([0.2, 0.2, 0.2, 0.4])
    assert learned.mean == pytest.approx(12.0)
    assert learned.sd == pytest.approx(4.0)  # √(0.8·2² + 0.2·8²)
    assert (learned.observed_mean, learned.observed_sd) == pytest.approx(
        (40 / 3, math.sqrt(100 / 3))
    )


def test_the_quantile_over_lead_times_without_demand_noise_is_a_lead_time_quantile() -> None:
    points = ((10.0, 0.8), (20.0, 0.2))  # usually 10 days, one time in five twice as slow
    assert demand_quantile(10.0, 0.0, 0.0, points, 0.95) == pytest.approx(200.0, abs=1e-6)
    assert demand_quantile(10.0, 0.0, 0.0, points, 0.75) == pytest.approx(100.0, abs=1e-6)
    assert mixture_cdf(150.0, 10.0, 0.0, 0.0, points) == 0.8


def test_a_supplier_usually_on_time_but_sometimes_much_slower_is_expressible() -> None:
    policy = ThresholdPolicy(service_level=0.95, lead_time_days=2.0, lead_time_sd_days=0.5)
    learned = blend([2, 2, 2, 2, 2, 2, 2, 20, 20], 2.0, 0.5, "supplier")
    assert learned.sd > learned.mean  # σL above L: refused as declared data, fine as learned
    with pytest.raises(ValueError, match="exceeds"):
        compute_levels(policy, STEADY, AS_OF, Item("X", lead_time_days=2, lead_time_sd_days=5))
    plain = compute_levels(policy, STEADY, AS_OF)
    slow = compute_levels(policy, STEADY, AS_OF, lead_time=learned)
    # The 95 % quantile falls in the 20-day tail: about 20 d × 20/day of demand.
    assert slow.t2 >= 20 * 20 > plain.t2 * 3
    assert slow.basis.input("lead_orders") == 9.0
    assert any("learned from 9 received orders (the supplier's)" in n for n in slow.basis.notes)


def _received(key: str, supplier: str, leads: list[float]) -> list[PurchaseOrder]:
    out = []
    for i, lead in enumerate(leads):
        po = PurchaseOrder(ItemKey(key), supplier, 10, T0 + i * DAY, T0 + i * DAY, id=i)
        out.append(po.receive(10, T0 + i * DAY + lead * DAY))
    return out


def test_items_learn_from_their_supplier_until_their_own_orders_show_the_tail() -> None:
    items = {
        ItemKey("A"): Item("A", supplier="s1"),
        ItemKey("B"): Item("B", supplier="s1"),
        ItemKey("C"): Item("C", supplier="s2"),
        ItemKey("D"): Item("D"),  # no supplier on record
        ItemKey("E"): Item("E", supplier="s3"),  # the supplier's only item
    }
    received = (
        _received("A", "s1", [5, 6, 7] * 7)  # 21 orders: enough on its own
        + _received("B", "s1", [9, 9, 9])  # 3 orders: not enough to see a 5 % tail
        + _received("C", "s2", [3, 3])
        + _received("D", "s9", [4, 4, 4])
        + _received("E", "s3", [6, 6, 6])
    )
    declared = {k: (7.0, 1.0) for k in items}
    learned = learn(received, items, declared)
    assert (learned[ItemKey("A")].scope, learned[ItemKey("A")].orders) == ("item", 21)
    assert (learned[ItemKey("B")].scope, learned[ItemKey("B")].orders) == ("supplier", 24)
    assert ItemKey("C") not in learned  # two orders are not enough to learn from
    assert (learned[ItemKey("D")].scope, learned[ItemKey("D")].orders) == ("item", 3)
    assert (learned[ItemKey("E")].scope, learned[ItemKey("E")].orders) == ("item", 3)


def test_one_slow_delivery_among_a_few_orders_does_not_set_the_reorder_point() -> None:
    # A supplier late ×2 on 1 order in 40 (2.5 %, under the 5 % a 95 % level may miss); the
    # item's own 9 orders hold that slow one. Alone they would weigh it 1/11 = 9 % > 5 % and
    # the reorder point would cover 20 days; the supplier's record covers about 10.
    items = {ItemKey("X"): Item("X", supplier="s"), ItemKey("Y"): Item("Y", supplier="s")}
    received = _received("X", "s", [10] * 8 + [20]) + _received("Y", "s", [10] * 31)
    declared = {k: (10.0, 0.0) for k in items}
    learned = learn(received, items, declared)[ItemKey("X")]
    assert (learned.scope, learned.orders) == ("supplier", 40)
    policy = ThresholdPolicy(service_level=0.95)
    item = Item("X", supplier="s", lead_time_days=10.0)
    pooled = compute_levels(policy, STEADY, AS_OF, item, lead_time=learned)
    alone_lt = blend([10] * 8 + [20], 10, 0, "item")
    alone = compute_levels(policy, STEADY, AS_OF, item, lead_time=alone_lt)
    # Hand-computed: 41/42 of the weight at 10 d (the declared point too), 1/42 at 20 d, so
    # Φ(z) = 0.95·42/41 = 0.97317, z = 1.92958, ROP = 200 + z·3.60555·√10 = 222.0006 → 223.
    assert pooled.t2 == 223
    assert alone.t2 > 380  # just under 20 d × 20: the slow order weighs 9 %, a 55 % quantile of it


@settings(max_examples=80, deadline=None)
@given(
    own=st.lists(st.floats(0.5, 30.0, allow_nan=False), min_size=0, max_size=25),
    others=st.lists(st.floats(0.5, 30.0, allow_nan=False), min_size=0, max_size=25),
)
def test_an_item_uses_its_own_orders_alone_only_with_enough_of_them(
    own: list[float], others: list[float]
) -> None:
    items = {ItemKey("X"): Item("X", supplier="s"), ItemKey("Y"): Item("Y", supplier="s")}
    received = _received("X", "s", own) + _received("Y", "s", others)
    got = learn(received, items, {ItemKey("X"): (7.0, 1.0)}).get(ItemKey("X"))
    pool = len(own) + len(others)
    if len(own) >= MIN_ITEM_ORDERS or (pool == len(own) and len(own) >= MIN_SUPPLIER_ORDERS):
        assert got is not None and (got.scope, got.orders) == ("item", len(own))
    elif pool >= MIN_SUPPLIER_ORDERS:
        assert got is not None and (got.scope, got.orders) == ("supplier", pool)
    else:
        assert got is None


leads = st.lists(st.floats(0.5, 30.0, allow_nan=False), min_size=3, max_size=8)


@settings(max_examples=80, deadline=None)
@given(
    samples=leads, which=st.integers(0, 7), later=st.floats(0.0, 30.0), alpha=st.floats(0.5, 0.999)
)
def test_a_later_delivery_never_lowers_the_safety_stock_nor_the_reorder_point(
    samples: list[float], which: int, later: float, alpha: float
) -> None:
    """The same orders with one of them delivered later: SS, T2 and T1 never go down."""
    policy = ThresholdPolicy(service_level=alpha, lead_time_days=7.0, lead_time_sd_days=1.0)
    slower = list(samples)
    slower[which % len(samples)] += later
    before = compute_levels(policy, STEADY, AS_OF, lead_time=blend(samples, 7.0, 1.0, "item"))
    after = compute_levels(policy, STEADY, AS_OF, lead_time=blend(slower, 7.0, 1.0, "item"))
    assert (after.t1, after.t2, after.t3) >= (before.t1, before.t2, before.t3)
    ss_before = {s.label: s.value for s in before.basis.steps}["SS"]
    ss_after = {s.label: s.value for s in after.basis.steps}["SS"]
    assert ss_after >= ss_before - 1e-9


def test_the_fill_rate_level_is_example_4_6() -> None:
    """inventory-math §4.6: σLT 43.035, Q 300, β = 0.99 needs G(z) = 0.0697, z = 1.092,
    SS = 46.99; a 95 % cycle service level would carry 70.79."""
    assert normal_loss(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert normal_loss(1.092) == pytest.approx(0.0697, abs=2e-4)
    level = fill_rate_level(((140.0, 43.035, 1.0),), (1 - 0.99) * 300)
    assert level - 140.0 == pytest.approx(46.99, abs=0.02)
    assert expected_shortage(level, ((140.0, 43.035, 1.0),)) == pytest.approx(3.0, abs=1e-9)


def test_a_fill_rate_over_a_slow_tail_covers_only_what_the_shortage_allows() -> None:
    # No demand noise: D is 100 units (80 %) or 200 (20 %). E[(D − x)⁺] = 0.2·(200 − x) for
    # x in [100, 200], so at most 4 units short per order needs x = 180, not the 95 % point 200.
    parts = ((100.0, 0.0, 0.8), (200.0, 0.0, 0.2))
    assert fill_rate_level(parts, 4.0) == pytest.approx(180.0, abs=1e-9)
    assert demand_quantile(10.0, 0.0, 0.0, ((10.0, 0.8), (20.0, 0.2)), 0.95) == pytest.approx(
        200.0, abs=1e-6
    )
    # Allowing more than the mean demand: nothing needs covering.
    assert fill_rate_level(parts, 150.0) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(
    samples=leads,
    which=st.integers(0, 7),
    later=st.floats(0.0, 30.0),
    beta=st.floats(0.5, 0.9999),
    cycle=st.sampled_from([0.0, 14.0, 30.0]),
)
def test_under_a_fill_rate_a_later_delivery_never_lowers_the_safety_stock(
    samples: list[float], which: int, later: float, beta: float, cycle: float
) -> None:
    policy = ThresholdPolicy(
        lead_time_days=7.0, lead_time_sd_days=1.0, fill_rate=beta, order_cycle_days=cycle
    )
    slower = list(samples)
    slower[which % len(samples)] += later
    for daily in (STEADY, [12 if i % 6 == 5 else 0 for i in range(90)]):  # plain and lumpy
        before = compute_levels(policy, daily, AS_OF, lead_time=blend(samples, 7.0, 1.0, "item"))
        after = compute_levels(policy, daily, AS_OF, lead_time=blend(slower, 7.0, 1.0, "item"))
        assert (after.t1, after.t2, after.t3) >= (before.t1, before.t2, before.t3)
        ss_before = {s.label: s.value for s in before.basis.steps}["SS"]
        ss_after = {s.label: s.value for s in after.basis.steps}["SS"]
        assert ss_after >= ss_before - 1e-9


@settings(max_examples=60, deadline=None)
@given(
    means=st.lists(st.floats(0.0, 500.0), min_size=1, max_size=5),
    scales=st.lists(st.floats(0.0, 80.0), min_size=5, max_size=5),
    allowed=st.floats(0.01, 50.0),
)
def test_the_fill_rate_level_is_the_lowest_with_the_allowed_shortage(
    means: list[float], scales: list[float], allowed: float
) -> None:
    parts = [(m, s, 1.0 / len(means)) for m, s in zip(means, scales, strict=False)]
    level = fill_rate_level(parts, allowed)
    assert expected_shortage(level, parts) <= allowed
    below = level - 1e-6 * max(1.0, level)
    assert level == 0.0 or below < 0 or expected_shortage(below, parts) > allowed - 1e-9
    # A stricter target never needs less.
    assert fill_rate_level(parts, allowed / 2) >= level
