"""A clean demand baseline: stockout and promotion days out of d̄ and σ, hand-computed."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.core.baseline import DayMark, day_marks, dropped_days_notes
from stockwatch.core.model import Item
from stockwatch.core.thresholds import Promotion, ThresholdPolicy, compute_levels, demand_stats

DAY = date(2026, 11, 24)
WEEK = [18, 25, 0, 22, 19, 27, 21]  # inventory-math §4.5


def test_a_stockout_day_is_left_out_of_the_velocity_example_4_5() -> None:
    marks = [0] * 83 + [0, 0, DayMark.STOCKOUT, 0, 0, 0, 0]
    assert demand_stats([20] * 83 + WEEK).velocity == 132 / 7  # 18.86
    stats = demand_stats([20] * 83 + WEEK, 7, marks)
    assert stats.velocity == 22.0  # 132 / 6
    assert stats.history_days == 89
    clean = [20] * 83 + [18, 25, 22, 19, 27, 21]
    assert stats.sd == pytest.approx(statistics.stdev(clean), rel=1e-12)
    assert stats.mean == statistics.fmean(clean)


def test_compute_levels_drops_the_stockout_day_and_says_which() -> None:
    policy = ThresholdPolicy(lead_time_days=7, buffer_days=0)
    out = DAY - timedelta(days=5)  # the third day of the last week
    levels = compute_levels(policy, [20] * 83 + WEEK, DAY, Item("LAMP"), stockout_days={out})
    assert levels.velocity == 22.0
    assert levels.basis.notes == ("left out of d̄ and σ: 1 stockout day(s) (2026-11-19)",)
    plain = compute_levels(policy, [20] * 83 + WEEK, DAY, Item("LAMP"))
    assert plain.velocity == 132 / 7 and levels.t2 > plain.t2


def test_promotion_days_in_the_past_are_left_out_with_their_dates() -> None:
    # 60 days at 10/day, then a 5-day promotion that sold 50/day, then 25 days at 10/day.
    history = [10] * 60 + [50] * 5 + [10] * 25
    start = DAY - timedelta(days=30)
    promo = Promotion("双11", start, start + timedelta(days=4), 5.0, skus=frozenset({"MAT"}))
    policy = ThresholdPolicy(lead_time_days=7, velocity_days=90)
    levels = compute_levels(policy, history, DAY, Item("MAT"), [promo])
    assert levels.basis.input("d") == 10.0 and levels.basis.input("sd") == 0.0
    assert levels.basis.notes[0] == (
        "left out of d̄ and σ: 5 promotion day(s) (2026-10-25–2026-10-29)"
    )
    inflated = compute_levels(policy, history, DAY, Item("OTHER"), [promo])
    assert inflated.basis.input("d") == (60 * 10 + 250 + 250) / 90


def test_too_few_clean_days_keep_the_marked_days_and_say_so() -> None:
    history = [0] * 70 + [4] * 20
    outs = {DAY - timedelta(days=d) for d in range(1, 11)}  # half the 20 days of history
    policy = ThresholdPolicy(min_history_days=14)
    levels = compute_levels(policy, history, DAY, Item("NEWISH"), stockout_days=outs)
    assert levels.basis.input("history_days") == 20.0
    assert levels.basis.notes[0].startswith("kept in d̄ and σ although unusual: 10 stockout")
    assert (
        "only 10 clean day(s) would remain, fewer than the minimum of 14" in (levels.basis.notes[0])
    )


def test_marks_before_the_first_sale_change_nothing() -> None:
    history = [0] * 80 + [3] * 10
    outs = {DAY - timedelta(days=d) for d in range(20, 40)}
    with_outs = compute_levels(ThresholdPolicy(min_history_days=5), history, DAY, None, (), outs)
    without = compute_levels(ThresholdPolicy(min_history_days=5), history, DAY)
    assert with_outs == without


def test_day_marks_put_stockouts_over_promotions() -> None:
    promo = Promotion("p", DAY - timedelta(days=3), DAY + timedelta(days=3), 2, tags=frozenset("x"))
    marks = day_marks(5, DAY, Item("A", tags=frozenset("x")), [promo], {DAY - timedelta(days=2)})
    assert marks == [0, 0, DayMark.PROMO, DayMark.STOCKOUT, DayMark.PROMO]
    assert day_marks(5, DAY, Item("B"), [promo]) == [0] * 5


def test_notes_word_runs_of_days_as_ranges() -> None:
    marks = [1, 1, 1, 0, 1, 2]
    notes = dropped_days_notes(marks, 0, date(2026, 1, 7), False, 2, 1)
    assert notes == [
        "left out of d̄ and σ: 4 stockout day(s) (2026-01-01–2026-01-03, 2026-01-05); "
        "1 promotion day(s) (2026-01-06)"
    ]


@settings(max_examples=80, deadline=None)
@given(
    history=st.lists(st.integers(0, 40), min_size=30, max_size=60),
    out_days=st.sets(st.integers(1, 30), max_size=8),
    censored=st.integers(0, 40),
)
def test_what_sold_on_a_stockout_day_never_changes_the_levels(
    history: list[int], out_days: set[int], censored: int
) -> None:
    """Censored demand is unknown: the levels must not depend on it (when the day is dropped)."""
    policy = ThresholdPolicy(min_history_days=3, window_days=60)
    outs = {DAY - timedelta(days=d) for d in out_days}
    other = list(history)
    for d in out_days:
        other[len(other) - d] = censored
    a = compute_levels(policy, history, DAY, Item("X"), stockout_days=outs)
    b = compute_levels(policy, other, DAY, Item("X"), stockout_days=outs)
    if not any("kept" in n for n in a.basis.notes + b.basis.notes):
        # the first sale may move when a dropped day's value changes; compare the figures
        assert (a.t1, a.t2, a.t3) == (b.t1, b.t2, b.t3)
        assert math.isclose(a.velocity, b.velocity)


@settings(max_examples=80, deadline=None)
@given(history=st.lists(st.integers(0, 40), min_size=20, max_size=60))
def test_no_marked_day_means_the_same_statistics(history: list[int]) -> None:
    assert demand_stats(history, 7, [0] * len(history)) == demand_stats(history, 7)
