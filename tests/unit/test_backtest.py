"""The per-item backtest simulation: hand-computed small scenarios for every rule and metric."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.core.backtest import SimParams, order_quantity, simulate
from stockwatch.core.replenishment import round_to_supplier


def test_stockout_days_lost_units_orders_and_stock_held_by_hand() -> None:
    # Levels T1 4, T2 3, T3 1, order up to 10, lead 5 days, 5 on hand, 2 sold a day.
    p = SimParams(t1=4, t2=3, t3=1, order_up_to=10)
    out = simulate([2] * 7, [5] * 7, 5, p, trace=True)
    # day 0: 5→3, position 3 is T2: notice + order 7 (arrives day 5)
    # day 1: 3→1 (position 8: OK)   day 2: sells 1, loses 1   days 3, 4: lose 2 each
    # day 5: +7 → 7, sells 2 → 5    day 6: 5→3: T2 again, notice + order 7
    assert out.on_hand == (3, 1, 0, 0, 0, 5, 3)
    assert (out.demand, out.sold, out.lost) == (14, 9, 5)
    assert out.stockout_days == 3
    assert (out.notices, out.orders, out.units_ordered) == (2, 2, 14)
    assert out.stock_sum == 12
    assert out.fill_rate == pytest.approx(9 / 14)
    assert out.mean_stock == pytest.approx(12 / 7)
    assert out.stock_days == pytest.approx((12 / 7) / 2)  # mean stock ÷ mean daily demand
    assert out.notices_per_month == pytest.approx(2 / 7 * 30)


def test_raise_then_escalation_then_order_arrives_after_the_lead_time() -> None:
    p = SimParams(t1=10, t2=6, t3=2, order_up_to=20)
    out = simulate([3] * 7, [2] * 7, 12, p, trace=True)
    # day 0: 9 → T1 raised; day 1: 6 → T2 worse, order 14 (due day 3); day 2: 3 (position 17)
    # day 3: +14 → 17 − 3 = 14; day 4: 11; day 5: 8 → T1 raised; day 6: 5 → T2, order 15
    assert out.on_hand == (9, 6, 3, 14, 11, 8, 5)
    assert (out.notices, out.orders, out.units_ordered) == (4, 2, 29)
    assert out.stockout_days == 0 and out.lost == 0


def test_debounce_holds_the_first_t1_notice_and_dedupe_spaces_reminders() -> None:
    demand, leads = [1] * 9, [1] * 9
    # Position reaches T1 (10) on day 1 and stays above T2 (2) until day 8.
    quick = simulate(demand, leads, 12, SimParams(10, 2, 1, 20.0))
    assert quick.notices == 8  # raised on day 1, a reminder every day (dedupe 1 day)
    held = simulate(demand, leads, 12, SimParams(10, 2, 1, 20.0, debounce_t1=3))
    assert held.notices == 6  # raised on day 3 (third reading in T1), reminders days 4–8
    spaced = simulate(demand, leads, 12, SimParams(10, 2, 1, 20.0, debounce_t1=3, dedupe_days=3))
    assert spaced.notices == 2  # day 3, then day 6


def test_an_order_acknowledges_the_episode_but_escalations_still_go_out() -> None:
    # T1 12, T2 8, T3 3, order up to T1 (no demand over the lead time), 2 sold a day, lead 10.
    p = SimParams(12, 8, 3, 12.0)
    out = simulate([2] * 4, [10] * 4, 9, p)
    # day 0: 7 → T2 raised, order 5 (position 12: T1); day 1: position 10, T1, no reminder
    # (ordering acknowledged it); day 2: position 8 → T2 again: announced (last T2 notice two
    # days ago), order 4; day 3: position 10, quiet.
    assert (out.notices, out.orders, out.units_ordered) == (2, 2, 9)
    # With a 3-day dedupe the return to T2 on day 2 is inside the window: not announced again.
    out = simulate([2] * 4, [10] * 4, 9, SimParams(12, 8, 3, 12.0, dedupe_days=3))
    assert (out.notices, out.orders) == (1, 2)


def test_goods_that_come_in_without_lifting_the_item_above_t1_are_reminded_again() -> None:
    # core.alerting rule 4b. T1 10, T2 6, T3 2, order up to 9 (still T1), lead 2 days.
    out = simulate([3, 0, 0, 0, 0], [2] * 5, 9, SimParams(10, 6, 2, 9.0), trace=True)
    # day 0: 9 → 6, T2 raised, order 3 (acknowledged); day 1: position 9, T1, goods on the
    # way: quiet; day 2: the 3 are in, position 9 with nothing on order: reminded, and on
    # days 3 and 4 (dedupe 1 day).
    assert out.on_hand == (6, 6, 9, 9, 9)
    assert (out.orders, out.units_ordered) == (1, 3)
    assert out.notices == 4


def test_disabled_levels_never_notify_nor_order() -> None:
    out = simulate([1] * 5, [1] * 5, 2, SimParams(0, 0, 0, 0.0, disabled=True), trace=True)
    assert (out.notices, out.orders) == (0, 0)
    assert out.on_hand == (1, 0, 0, 0, 0)
    assert out.stockout_days == 3 and out.lost == 3


def test_no_demand_means_full_fill_rate_and_no_stock_days() -> None:
    out = simulate([0] * 4, [1] * 4, 5, SimParams(3, 2, 1, 6.0))
    assert out.fill_rate == 1.0 and out.stock_days is None and out.stockout_days == 0


def test_order_quantity_follows_moq_and_multiple() -> None:
    assert order_quantity(20.0, 6, 1, 1) == 14
    assert order_quantity(20.0, 6, 50, 1) == 50
    assert order_quantity(20.0, 6, 1, 12) == 24
    assert order_quantity(20.0, 6, 30, 12) == 36
    assert order_quantity(5.5, 5, 1, 1) == 1
    assert order_quantity(3.0, 5, 1, 1) == 0  # already above the target
    assert order_quantity(0.0, 0, 5, 1) == 5  # empty with no sales data: at least the MOQ


@given(
    st.floats(0.01, 500, allow_nan=False),
    st.integers(-50, 400),
    st.integers(0, 60),
    st.integers(0, 24),
)
def test_order_quantity_is_the_task_rule(up_to: float, position: int, moq: int, mult: int) -> None:
    raw = up_to - position
    if raw > 0:
        assert order_quantity(up_to, position, moq, mult) == round_to_supplier(raw, moq, mult)[0]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="T1 ≥ T2 ≥ T3"):
        SimParams(2, 5, 1, 10.0)
    with pytest.raises(ValueError, match="at least 1 day"):
        SimParams(5, 3, 1, 10.0, dedupe_days=0)
    with pytest.raises(ValueError, match="one lead time per simulated day"):
        simulate([1, 1], [1], 0, SimParams(5, 3, 1, 10.0))


# Where "more stock never runs out more often" holds on every history, and where it does not.
# Lost sales make the system path-dependent: a policy that orders at a different moment, or a
# different amount, can fall out of step and meet a burst of demand with less on hand. Two
# classes keep every path in step (searches of 20,000 random paths each found no exception):
# - base stock: order whenever the position is below S, up to S, in any quantity (MOQ ≤ 1,
#   multiple 1), with any per-order lead times (orders may even cross);
# - (s, Q) with sales of at most one unit a day and one lead time: the order is placed as the
#   position reaches s and is always Q = S − s, so raising s (same Q) only shifts every cycle.
# The merchant's rule (order at T2 up to T1 + d̄·L, MOQ, multiple) is in neither class.

_days = st.integers(1, 60)


def _base_stock(level: int) -> SimParams:
    return SimParams(level - 1, level - 1, 1, float(level))


@settings(max_examples=300, deadline=None)
@given(
    st.data(), _days, st.integers(0, 40), st.integers(1, 30), st.integers(1, 6), st.integers(1, 9)
)
def test_a_higher_base_stock_never_gives_more_stockout_days_nor_lost_units(
    data: st.DataObject, days: int, start: int, level: int, more: int, longest: int
) -> None:
    demand = data.draw(st.lists(st.integers(0, 12), min_size=days, max_size=days))
    leads = data.draw(st.lists(st.integers(1, longest), min_size=days, max_size=days))
    low = simulate(demand, leads, start, _base_stock(level + 1))
    high = simulate(demand, leads, start, _base_stock(level + 1 + more))
    assert high.stockout_days <= low.stockout_days and high.lost <= low.lost


@settings(max_examples=300, deadline=None)
@given(
    st.data(),
    _days,
    st.integers(0, 40),
    st.integers(1, 20),
    st.integers(1, 15),
    st.integers(1, 5),
    st.integers(1, 8),
)
def test_unit_sales_raising_the_reorder_level_with_the_same_order_size_never_hurts(
    data: st.DataObject, days: int, start: int, s: int, q: int, more: int, lead: int
) -> None:
    demand = data.draw(st.lists(st.integers(0, 1), min_size=days, max_size=days))
    moq = data.draw(st.integers(1, q))  # never above the order size: Q stays Q
    low = simulate(demand, [lead] * days, start, SimParams(s, s, 1, float(s + q), moq))
    high = simulate(
        demand, [lead] * days, start, SimParams(s + more, s + more, 1, float(s + more + q), moq)
    )
    assert high.stockout_days <= low.stockout_days and high.lost <= low.lost


def test_a_minimum_order_quantity_breaks_base_stock_monotonicity() -> None:
    """Found by search: with MOQ 2, base stock 7 runs out on 11 days where 6 ran out on 9."""
    demand = [1, 2, 0, 2, 2, 1, 0, 1, 0, 1, 8, 8, 0, 1, 2, 8, 0, 1, 8, 1, 1, 8, 5, 1, 8, 0]
    demand += [2, 0, 0, 0, 3, 2, 3, 2]
    leads = [4] * len(demand)
    low = simulate(demand, leads, 11, SimParams(5, 5, 1, 6.0, min_order_qty=2))
    high = simulate(demand, leads, 11, SimParams(6, 6, 1, 7.0, min_order_qty=2))
    assert (low.stockout_days, high.stockout_days) == (9, 11)


def test_unit_sales_with_lead_times_that_vary_break_the_s_q_monotonicity() -> None:
    """Found by search: reorder level 1 → 3 with the same order size 10 and lead times that
    differ by order: the earlier order meets a slow delivery and runs out once."""
    demand = [1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    leads = [8, 4, 2, 3, 5, 7, 6, 4, 5, 3, 2, 1, 7, 6, 6, 4, 4, 3, 6, 3, 3, 3]
    low = simulate(demand, leads, 4, SimParams(1, 1, 1, 11.0))
    high = simulate(demand, leads, 4, SimParams(3, 3, 1, 13.0))
    assert (low.stockout_days, high.stockout_days) == (0, 1)


def test_unit_sales_with_a_larger_order_up_to_level_can_run_out_more() -> None:
    """Found by search: (s, S) = (1, 8) → (3, 12), one lead time of 6 days, at most one sale a
    day: the order size changes with the levels and the cycles drift apart."""
    demand = [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1]
    demand += [1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    demand += [1]
    leads = [6] * len(demand)
    low = simulate(demand, leads, 0, SimParams(1, 1, 1, 8.0))
    high = simulate(demand, leads, 0, SimParams(3, 3, 1, 12.0))
    assert (low.stockout_days, high.stockout_days) == (1, 2)


def test_a_recompute_changes_the_levels_from_its_day_on() -> None:
    # T1 4, T2 3, order up to 10, lead 5 days, 10 on hand, 2 sold a day. Unchanged, T2 comes on
    # day 3 (2 left): 8 ordered, due day 8, out on days 5, 6, 7. Recomputed on day 2 to
    # T1 8, T2 7, up to 14: day 2 ends at 4 (T2 at once): 10 ordered, due day 7, out on 5, 6.
    p = SimParams(t1=4, t2=3, t3=1, order_up_to=10)
    demand, leads = [2] * 8, [5] * 8
    same = simulate(demand, leads, 10, p, trace=True)
    assert (same.stockout_days, same.orders, same.units_ordered) == (3, 1, 8)
    later = SimParams(t1=8, t2=7, t3=1, order_up_to=14, dedupe_days=5)  # its notice rule unused
    moved = simulate(demand, leads, 10, p, trace=True, changes=[(2, later)])
    assert (moved.stockout_days, moved.orders, moved.units_ordered) == (2, 1, 10)
    assert moved.on_hand == (8, 6, 4, 2, 0, 0, 0, 8)
    assert moved.notices == 2  # T2 on day 2; T1 on day 7, when the delivery leaves 8 (= T1)
