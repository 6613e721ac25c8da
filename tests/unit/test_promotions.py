"""Promotions raise only the demand of their own days inside the protection window (§4.9)."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.core.model import Item
from stockwatch.core.promotions import Promotion, promotion_uplift
from stockwatch.core.thresholds import ThresholdPolicy, compute_levels, z_for

DAY = date(2026, 11, 24)
ITEM = Item("YOGA-MAT", tags=frozenset({"促销"}))


def _promo(start: int, end: int, m: float = 2.5) -> Promotion:
    return Promotion(
        "双12", DAY + timedelta(days=start), DAY + timedelta(days=end), m, tags=frozenset({"促销"})
    )


def test_the_calendar_example_4_9_holds_117_90_and_347_90() -> None:
    # Only the last 3 of the 7 lead-time days fall inside the promotion: [1,1,1,1,2.5,2.5,2.5].
    uplift = promotion_uplift(ITEM, [_promo(4, 20)], DAY, 7.0)
    assert uplift is not None
    assert uplift.promo_days == 3
    assert uplift.rate * 20 * 7 == pytest.approx(230)  # lead-time demand 20 × 11.5
    assert (uplift.sd * 6) ** 2 * 7 == pytest.approx(819)  # 36 × (4 + 3·6.25)
    policy = ThresholdPolicy(lead_time_days=7, lead_time_sd_days=2, buffer_days=0, velocity_days=90)
    history = [14, 26] * 45  # d̄ = 20; sample σ = 6·√(90/89)
    levels = compute_levels(policy, history, DAY, ITEM, [_promo(4, 20)])
    sd = statistics.stdev(history)
    ss = z_for(0.95) * math.sqrt(sd**2 * (4 + 3 * 6.25) + (230 / 7) ** 2 * 4)
    assert levels.velocity == pytest.approx(230 / 7)  # 32.857, the window's mean rate
    assert levels.t3 == math.ceil(ss)
    assert levels.t2 == math.ceil(230 + ss)
    # with σ = 6 exactly the reference's figures come out
    assert z_for(0.95) * math.sqrt(819 + (230 / 7) ** 2 * 4) == pytest.approx(117.90, abs=0.01)
    assert "3 of the 7 protection-window days under promotion" in levels.basis.notes[-1]


def test_a_promotion_outside_the_window_does_nothing_until_its_first_day_enters() -> None:
    assert promotion_uplift(ITEM, [_promo(7, 9)], DAY, 7.0) is None  # day 7 is just outside
    entered = promotion_uplift(ITEM, [_promo(6, 9)], DAY, 7.0)
    assert entered is not None and entered.promo_days == 1
    assert promotion_uplift(ITEM, [_promo(-9, -1)], DAY, 7.0) is None  # over: ends by itself


def test_a_fractional_window_counts_its_last_day_in_part() -> None:
    uplift = promotion_uplift(ITEM, [_promo(2, 2, 3.0)], DAY, 2.5)
    assert uplift is not None
    assert uplift.promo_days == 0.5
    assert uplift.rate == pytest.approx((2 + 0.5 * 3) / 2.5)


def test_other_items_and_threshold_promotions_get_no_demand_uplift() -> None:
    assert promotion_uplift(Item("OTHER"), [_promo(0, 3)], DAY, 7.0) is None
    flash = Promotion("flash", DAY, DAY, 2, target="threshold", tags=frozenset({"促销"}))
    assert promotion_uplift(ITEM, [flash], DAY, 7.0) is None


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(-10, 20),
    length=st.integers(0, 10),
    m=st.floats(1.0, 5.0),
    horizon=st.floats(0.5, 21.0),
)
def test_the_uplift_lies_between_none_and_the_whole_window(
    start: int, length: int, m: float, horizon: float
) -> None:
    """Property: holding only what the promotion sells never exceeds the simple ×m rule, and
    never holds less than no promotion at all."""
    uplift = promotion_uplift(ITEM, [_promo(start, start + length, m)], DAY, horizon)
    if uplift is None:
        return
    assert 1.0 - 1e-12 <= uplift.rate <= m + 1e-12
    assert 1.0 - 1e-12 <= uplift.sd <= m + 1e-12
    assert 0 < uplift.promo_days <= horizon + 1e-12
    if uplift.promo_days == pytest.approx(horizon):
        assert uplift.rate == pytest.approx(m) and uplift.sd == pytest.approx(m)


@settings(max_examples=60, deadline=None)
@given(start=st.integers(1, 15), m=st.floats(1.5, 4.0))
def test_levels_never_fall_as_a_promotion_comes_closer(start: int, m: float) -> None:
    """Property: the day before, the same promotion is one day further: levels are not higher."""
    policy = ThresholdPolicy(lead_time_days=7, lead_time_sd_days=1)
    history = [10, 12, 8, 11, 9] * 18
    near = compute_levels(policy, history, DAY, ITEM, [_promo(start, start + 30, m)])
    far = compute_levels(policy, history, DAY, ITEM, [_promo(start + 1, start + 31, m)])
    assert near.t2 >= far.t2 and near.t1 >= far.t1
