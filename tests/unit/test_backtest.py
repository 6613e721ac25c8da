"""The per-item backtest simulation: hand-computed small scenarios for every rule and metric."""

from __future__ import annotations

import pytest
from hypothesis import given
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
