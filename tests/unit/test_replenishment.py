"""Reorder suggestions: threshold maths, supplier rounding and price breaks, order-by dates."""

from __future__ import annotations

from datetime import date

from stockwatch.core.replenishment import PriceBreak, round_to_supplier, suggest

TODAY = date(2026, 11, 24)


def test_it_orders_up_to_t1_plus_lead_time_demand() -> None:
    s = suggest(available=12, t1=60, velocity=4.0, today=TODAY, lead_time_days=5)
    assert s.raw_quantity == 60 + 20 - 12 and s.quantity == 68


def test_it_rounds_up_to_the_moq_and_the_order_multiple() -> None:
    assert round_to_supplier(13, min_order_qty=50, order_multiple=1)[0] == 50
    assert round_to_supplier(73, min_order_qty=50, order_multiple=12)[0] == 84


def test_a_price_break_that_costs_no_more_in_total_is_taken() -> None:
    breaks = [PriceBreak(1, 10.0), PriceBreak(100, 8.0)]
    # 90 × 10 = 900 > 100 × 8 = 800: ordering 100 is cheaper.
    qty, reason = round_to_supplier(90, breaks=breaks)
    assert qty == 100 and "price break" in reason
    # 50 × 10 = 500 < 800: stay at 50.
    assert round_to_supplier(50, breaks=breaks)[0] == 50


def test_the_order_by_date_leaves_the_lead_time_before_stock_runs_out() -> None:
    s = suggest(available=40, t1=60, velocity=4.0, today=TODAY, lead_time_days=5)
    assert s.order_by == date(2026, 11, 29)  # 10 days of cover − 5 days of lead time
    late = suggest(available=8, t1=60, velocity=4.0, today=TODAY, lead_time_days=5)
    assert late.order_by == TODAY  # already late: order today


def test_out_of_stock_without_sales_data_still_suggests_the_moq() -> None:
    s = suggest(available=0, t1=0, velocity=0.0, today=TODAY, lead_time_days=None, min_order_qty=30)
    assert s.quantity == 30 and s.lead_time_days == 7.0


def test_a_healthy_position_needs_no_order() -> None:
    s = suggest(available=500, t1=60, velocity=4.0, today=TODAY, lead_time_days=5)
    assert s.quantity == 0


def test_an_oversold_position_is_a_backorder_the_order_also_covers() -> None:
    # T1 100 + 10/day × 7 days = 170 target; 50 units already owed to buyers → 220 (§2.4).
    s = suggest(available=-50, t1=100, velocity=10, today=TODAY, lead_time_days=7)
    assert s.quantity == 220 and s.order_by == TODAY


def test_the_lead_time_top_up_uses_the_order_rate_and_the_order_by_date_the_velocity() -> None:
    # T1 60 + 5 days × 3/day (the order rate) − 12 = 63, not 60 + 5 × 4 − 12 = 68; the order-by
    # date still reads how fast the shelf empties now: 40/4 = 10 days − 5 = 5 days from today.
    s = suggest(available=12, t1=60, velocity=4.0, order_rate=3.0, today=TODAY, lead_time_days=5)
    assert s.raw_quantity == 63 and s.quantity == 63
    later = suggest(
        available=40, t1=60, velocity=4.0, order_rate=3.0, today=TODAY, lead_time_days=5
    )
    assert later.order_by == date(2026, 11, 29)


def test_an_order_cycle_makes_a_due_order_cover_that_many_days() -> None:
    # T1 100, 7 days at 5/day: a top-up of 35 + 100 − 95 = 40, but a 30-day cycle asks 150.
    kw = dict(t1=100, velocity=5.0, today=date(2026, 3, 1), lead_time_days=7.0)
    assert suggest(available=95, **kw).quantity == 40  # type: ignore[arg-type]
    assert suggest(available=95, cycle_days=30, **kw).quantity == 150  # type: ignore[arg-type]
    # Above T1 nothing is due yet: the cycle does not invent an order.
    assert suggest(available=200, cycle_days=30, **kw).quantity == 0  # type: ignore[arg-type]
