"""Threshold strategies against the worked examples and edge cases of inventory-math.md."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from datetime import date, timedelta
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.core.leadtime import LearnedLeadTime
from stockwatch.core.model import Item, ItemClass
from stockwatch.core.thresholds import (
    ManualLevels,
    Promotion,
    Strategy,
    ThresholdPolicy,
    TierSpec,
    TierSpecKind,
    clean_history,
    compute_levels,
    days_of_cover,
    demand_stats,
    empirical_lead_time_demand,
    empirical_mixture_demand,
    order_window_sums,
    promotion_multiplier,
    reorder_point,
    safety_stock,
    sbc_class,
    z_for,
)

DAY = date(2026, 11, 24)
# d̄ as the 90-day mean (velocity window = whole window) so that the alternating history below
# has d̄ = 20 exactly, as in the worked examples.
BASELINE = ThresholdPolicy(lead_time_days=7, lead_time_sd_days=2, buffer_days=2, velocity_days=90)


def test_z_matches_the_service_level_table() -> None:
    table = {0.50: 0.0, 0.80: 0.8416, 0.90: 1.2816, 0.95: 1.6449, 0.99: 2.3263, 0.9999: 3.7190}
    for alpha, z in table.items():
        assert z_for(alpha) == pytest.approx(z, abs=1e-4)


def test_z_agrees_with_scipy() -> None:
    from scipy.stats import norm

    for alpha in (0.5, 0.85, 0.9, 0.95, 0.975, 0.98, 0.99, 0.995, 0.999):
        assert z_for(alpha) == pytest.approx(float(norm.ppf(alpha)), abs=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 0.3, 1.5, -0.1])
def test_service_levels_at_or_beyond_the_edges_are_rejected_clearly(alpha: float) -> None:
    with pytest.raises(ValueError, match=r"service level must be between 0\.5 and 0\.9999"):
        z_for(alpha)
    with pytest.raises(ValueError, match="service level"):
        ThresholdPolicy(service_level=alpha)


def test_baseline_example_4_1() -> None:
    z = z_for(0.95)
    assert safety_stock(z, 6, 7) == pytest.approx(26.11, abs=0.01)
    assert reorder_point(20, 7, safety_stock(z, 6, 7)) == pytest.approx(166.11, abs=0.01)
    ss = safety_stock(z, 6, 7, rate=20, lead_sd=2)
    assert ss == pytest.approx(70.79, abs=0.01)
    assert reorder_point(20, 7, ss) == pytest.approx(210.79, abs=0.01)
    assert safety_stock(z, 6, 7, rate=20, lead_sd=2, review_days=1) == pytest.approx(
        71.47, abs=0.01
    )


@pytest.mark.parametrize(
    ("alpha", "ss", "rop"),
    [
        (0.90, 55.15, 195.15),
        (0.95, 70.79, 210.79),
        (0.98, 88.38, 228.38),
        (0.99, 100.11, 240.11),
        (0.999, 132.99, 272.99),
        (0.9999, 160.05, 300.05),
    ],
)
def test_service_level_drives_safety_stock_example_4_2(alpha: float, ss: float, rop: float) -> None:
    got = safety_stock(z_for(alpha), 6, 7, rate=20, lead_sd=2)
    assert got == pytest.approx(ss, abs=0.01)
    assert reorder_point(20, 7, got) == pytest.approx(rop, abs=0.01)


def _history(mean: int, spread: int, days: int = 90) -> list[int]:
    """A deterministic history with an exact mean (alternating mean ± spread)."""
    return [mean + (spread if i % 2 else -spread) for i in range(days)]


def test_reorder_point_strategy_gives_tiers_71_211_251_for_the_baseline_sku() -> None:
    # σ of the alternating history is 6·√(90/89) (sample σ), d̄ = 20.
    levels = compute_levels(BASELINE, _history(20, 6), DAY)
    sd = statistics.stdev(_history(20, 6))
    ss = z_for(0.95) * math.sqrt(7 * sd**2 + 400 * 4)
    assert levels.t3 == math.ceil(ss)
    assert levels.t2 == math.ceil(140 + ss)
    assert levels.t1 == math.ceil(140 + ss + 40)
    assert (levels.t3, levels.t2, levels.t1) == (71, 211, 251)


@pytest.mark.parametrize(("on_hand", "tier"), [(300, 0), (240, 1), (200, 2), (60, 3), (0, 4)])
def test_tier_and_cover_at_several_stock_levels_example_4_3(on_hand: int, tier: int) -> None:
    levels = compute_levels(BASELINE, _history(20, 6), DAY)
    assert int(levels.classify(on_hand)) == tier
    assert levels.days_of_cover(on_hand) == pytest.approx(on_hand / 20)


def test_velocity_with_a_stockout_day_example_4_5() -> None:
    last7 = [18, 25, 0, 22, 19, 27, 21]
    stats = demand_stats([20] * 83 + last7)
    assert stats.velocity == pytest.approx(18.857, abs=1e-3)
    assert days_of_cover(200, stats.velocity) == pytest.approx(10.61, abs=0.01)
    assert days_of_cover(200, 132 / 6) == pytest.approx(9.09, abs=0.01)


def test_intermittent_demand_uses_the_empirical_lead_time_quantile_example_4_7() -> None:
    daily = [10 if i % 10 == 9 else 0 for i in range(90)]
    stats = demand_stats(daily)
    assert stats.intermittent and sbc_class(stats) == "intermittent"
    assert empirical_lead_time_demand(daily, 7, 0.95) == 10
    levels = compute_levels(ThresholdPolicy(lead_time_days=7, buffer_days=0), daily, DAY)
    assert levels.t2 == 10  # the normal formula would say 20.06
    assert any("intermittent" in note for note in levels.basis.notes)
    normal = compute_levels(
        ThresholdPolicy(lead_time_days=7, buffer_days=0, intermittent_method="normal"), daily, DAY
    )
    assert normal.t2 > 10


def test_an_intermittent_item_takes_its_rate_from_the_window_mean_not_the_velocity() -> None:
    # 12 units every third day: ADI 88/30 = 2.93. The last 7 days hold 3 of the sales, so the
    # velocity is 36/7 = 5.14/day, the 88-day mean 360/88 = 4.09/day. With L = 10 every 10-day
    # window holds 3 or 4 sales: the 95 % quantile is 48. The velocity would lift the reorder
    # point to 5.14 × 10 = 51.4 → 52 and size every order from a rate 26 % too high.
    daily = [0, 0, 12] * 30
    policy = ThresholdPolicy(lead_time_days=10, buffer_days=0)
    levels = compute_levels(policy, daily, DAY)
    assert levels.velocity == pytest.approx(360 / 88)
    assert (levels.t2, levels.t3) == (48, math.ceil(48 - 3600 / 88))
    assert any("d̄ is the 88-day mean" in note for note in levels.basis.notes)
    normal = compute_levels(replace(policy, intermittent_method="normal"), daily, DAY)
    assert normal.velocity == pytest.approx(36 / 7)  # the normal formula keeps the velocity


def test_the_order_that_crosses_the_reorder_point_is_covered_too() -> None:
    # 5 units every 4 days, L = 4. Any 4 days hold exactly one sale: 5. But the order goes
    # out on a selling day, when that day's 5 units may have taken the position up to 5 below
    # the reorder point, and the next 4 days sell 5 more: the reorder point must be 10.
    daily = [5, 0, 0, 0] * 20
    assert order_window_sums(daily, 4) == [10] * 19
    assert empirical_lead_time_demand(daily, 4, 0.95) == 10
    levels = compute_levels(ThresholdPolicy(lead_time_days=4, buffer_days=0), daily, DAY)
    assert (levels.t2, levels.t3) == (10, 5)  # SS = 10 − d̄·L = 10 − 1.25·4
    assert empirical_lead_time_demand([0, 0, 3], 2, 0.95) is None  # no window after the sale


def test_an_intermittent_item_counts_the_slow_deliveries_of_its_supplier() -> None:
    # 10 units every 10 days (example 4.7 a). A 7-day lead time holds at most one sale: the
    # quantile is 10. A supplier 17 days late one time in five: P(D ≤ 10) = 0.8 · 1 + 0.2 ·
    # P(17-day sum ≤ 10) < 0.95, so the reorder point must hold two sales, 20 units.
    daily = [10 if i % 10 == 9 else 0 for i in range(90)]
    slow = ((7.0, 0.8), (17.0, 0.2))
    assert empirical_mixture_demand(daily[9:], 0.0, ((7.0, 1.0),), 0.95) == 10
    assert empirical_mixture_demand(daily[9:], 0.0, slow, 0.95) == 20
    learned = LearnedLeadTime(slow, 10, "supplier", 9.0, 4.0)
    policy = ThresholdPolicy(lead_time_days=7, buffer_days=0)
    item = Item("LUMPY", lead_time_days=7.0)
    levels = compute_levels(policy, daily, DAY, item, lead_time=learned)
    assert levels.t2 == 20 and levels.velocity == pytest.approx(90 / 81)
    assert levels.t3 == math.ceil(20 - 90 / 81 * 7)  # SS against the declared 7 days
    assert compute_levels(policy, daily, DAY, item).t2 == 10


@settings(max_examples=150, deadline=None)
@given(
    daily=st.lists(st.integers(0, 30), min_size=1, max_size=60),
    lead=st.floats(0.0, 20.0),
    review=st.sampled_from([0.0, 1.0, 2.5]),
    csl=st.floats(0.5, 0.999),
)
def test_the_mixture_quantile_of_one_lead_time_is_the_plain_empirical_one(
    daily: list[int], lead: float, review: float, csl: float
) -> None:
    width = max(math.ceil(lead + review), 1)
    assert empirical_mixture_demand(daily, review, ((lead, 1.0),), csl) == (
        empirical_lead_time_demand(daily, width, csl)
    )


def test_a_new_item_uses_the_rule_rate_example_4_8() -> None:
    policy = ThresholdPolicy(
        lead_time_days=10, service_level=0.90, new_item_daily_sales=2, buffer_days=0
    )
    levels = compute_levels(policy, [0] * 85 + [2, 3, 1, 2, 2], DAY)
    assert levels.basis.strategy == "default"
    assert levels.t3 == math.ceil(1.2816 * math.sqrt(2) * math.sqrt(10) - 1e-3)  # 5.73 → 6
    assert levels.t2 == 26  # 20 + 5.73
    assert levels.velocity == 2


def test_a_new_item_rule_of_daily_estimate_times_days() -> None:
    policy = ThresholdPolicy(new_item_daily_sales=4, new_item_days=10)
    levels = compute_levels(policy, None, DAY)
    assert levels.t2 == 40
    assert (levels.t1, levels.t3) == (60, 20)


def test_a_promotion_over_the_whole_window_scales_every_threshold_by_m_example_4_9() -> None:
    policy = BASELINE
    item = Item("YOGA-MAT", tags=frozenset({"促销"}))
    # 11-24 .. 12-12 covers the whole 7-day protection window from DAY = 11-24
    promo = Promotion("双12", date(2026, 11, 24), date(2026, 12, 12), 2.5, tags=frozenset({"促销"}))
    base = compute_levels(policy, _history(20, 6), DAY, item)
    boosted = compute_levels(policy, _history(20, 6), DAY, item, [promo])
    sd = statistics.stdev(_history(20, 6))
    ss = z_for(0.95) * math.sqrt(7 * (2.5 * sd) ** 2 + 50**2 * 4)
    assert boosted.t3 == math.ceil(ss)
    assert boosted.t2 == math.ceil(350 + ss)
    assert boosted.t1 == math.ceil(350 + ss + 100)
    assert boosted.t2 > base.t2 * 2.4
    assert any("双12" in note for note in boosted.basis.notes)


def test_a_promotion_starts_a_lead_time_early_and_ends_by_itself() -> None:
    promo = Promotion("618", date(2026, 6, 10), date(2026, 6, 18), 3, skus=frozenset({"A"}))
    item = Item("A")
    assert promotion_multiplier(item, [promo], date(2026, 6, 2), 7, "demand")[0] == 1.0
    assert promotion_multiplier(item, [promo], date(2026, 6, 3), 7, "demand")[0] == 3.0
    assert promotion_multiplier(item, [promo], date(2026, 6, 18), 7, "demand")[0] == 3.0
    assert promotion_multiplier(item, [promo], date(2026, 6, 19), 7, "demand")[0] == 1.0
    assert promotion_multiplier(Item("B"), [promo], date(2026, 6, 12), 7, "demand")[0] == 1.0


def test_a_threshold_promotion_multiplies_the_levels() -> None:
    promo = Promotion("flash", DAY, DAY, 2, target="threshold", skus=frozenset({"A"}))
    policy = ThresholdPolicy(strategy=Strategy.FIXED, fixed_threshold=50)
    levels = compute_levels(policy, None, DAY, Item("A"), [promo])
    assert (levels.t1, levels.t2, levels.t3) == (150, 100, 50)


def test_zero_lead_time_uses_a_one_day_review_period_example_4_10() -> None:
    policy = ThresholdPolicy(lead_time_days=0, buffer_days=0, velocity_days=90)
    levels = compute_levels(policy, _history(20, 6), DAY)
    sd = statistics.stdev(_history(20, 6))
    assert levels.t3 == math.ceil(z_for(0.95) * sd)  # 9.87 with σ = 6
    assert levels.t2 == math.ceil(20 + z_for(0.95) * sd)
    assert any("review period" in note for note in levels.basis.notes)


def test_lead_time_sigma_above_the_lead_time_is_a_data_error() -> None:
    with pytest.raises(ValueError, match="larger than lead_time_days"):
        ThresholdPolicy(lead_time_days=0, lead_time_sd_days=2)
    item = Item("SHAKY", lead_time_days=3, lead_time_sd_days=5)
    with pytest.raises(ValueError, match="exceeds the lead time"):
        compute_levels(ThresholdPolicy(), [5] * 90, DAY, item)


def test_zero_demand_gives_finite_levels_at_the_floor_and_infinite_cover() -> None:
    levels = compute_levels(ThresholdPolicy(), [0] * 90, DAY)  # no sales at all: a new item
    assert all(math.isfinite(v) for v in (levels.t1, levels.t2, levels.t3))
    dormant = compute_levels(ThresholdPolicy(), [3] * 30 + [0] * 60, DAY)
    assert dormant.t3 >= 1
    assert days_of_cover(50, 0) == math.inf


def test_constant_sales_have_zero_sigma_and_rely_on_the_t3_floor() -> None:
    levels = compute_levels(ThresholdPolicy(buffer_days=0, t3_floor=3), [0] * 0 + [5] * 90, DAY)
    assert levels.t3 == 3
    assert levels.t2 == 35


def test_negative_days_count_as_no_sales() -> None:
    stats = demand_stats([5, -3, 5, 5])
    assert stats.total == 15
    assert stats.selling_days == 3


def test_fewer_than_two_days_has_no_sigma_instead_of_nan() -> None:
    assert demand_stats([4]).sd == 0.0
    assert demand_stats([]).history_days == 0


def test_too_few_recent_selling_days_fall_back_to_the_window_mean() -> None:
    history = [10] * 83 + [0, 0, 0, 0, 0, 0, 7]
    levels = compute_levels(ThresholdPolicy(min_selling_days=2), history, DAY)
    assert levels.velocity == pytest.approx(sum(history) / 90)
    assert any("selling days" in note for note in levels.basis.notes)


def test_leading_zeros_before_the_first_sale_are_not_history() -> None:
    stats = demand_stats([0] * 60 + [4] * 30)
    assert stats.history_days == 30
    assert stats.mean == 4 and stats.sd == 0


def test_sample_sigma_matches_statistics_stdev() -> None:
    history = [3, 8, 0, 12, 5, 5, 9, 1]
    assert demand_stats(history).sd == pytest.approx(statistics.stdev(history), rel=1e-12)


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, max_size=120))
@settings(max_examples=200)
def test_integer_moments_match_statistics_on_any_history(history: list[int]) -> None:
    stats = demand_stats(history)
    trimmed = history[next((i for i, x in enumerate(history) if x > 0), len(history)) :]
    if len(trimmed) >= 2:
        assert stats.sd == pytest.approx(statistics.stdev(trimmed), rel=1e-9, abs=1e-9)


def test_days_of_cover_strategy_follows_the_seed_velocity_rule() -> None:
    policy = ThresholdPolicy(strategy=Strategy.DAYS_OF_COVER, lead_time_days=7, buffer_days=2)
    levels = compute_levels(policy, [10] * 90, DAY)
    assert (levels.t3, levels.t2, levels.t1) == (20, 70, 90)


def test_safety_stock_strategy_is_the_seed_s_plus_k() -> None:
    policy = ThresholdPolicy(
        strategy=Strategy.SAFETY_STOCK, lead_time_days=4, buffer_days=1, attention_days=2
    )
    policy = ThresholdPolicy(
        strategy=Strategy.SAFETY_STOCK,
        lead_time_days=4,
        buffer_days=1,
        attention_days=2,
        velocity_days=90,
    )
    history = _history(10, 3)
    ss = z_for(0.95) * statistics.stdev(history) * 2
    levels = compute_levels(policy, history, DAY)
    assert levels.t3 == math.ceil(ss)
    assert levels.t2 == math.ceil(ss + 10)
    assert levels.t1 == math.ceil(ss + 10 + 20)


def test_combined_takes_the_most_cautious_level_per_tier() -> None:
    history = _history(20, 6)
    rop = compute_levels(ThresholdPolicy(), history, DAY)
    cover = compute_levels(ThresholdPolicy(strategy=Strategy.DAYS_OF_COVER), history, DAY)
    both = compute_levels(ThresholdPolicy(strategy=Strategy.COMBINED), history, DAY)
    assert both.t1 == max(rop.t1, cover.t1)
    assert both.t2 == max(rop.t2, cover.t2)
    assert both.t3 == max(rop.t3, cover.t3)


def test_fixed_levels_can_be_set_per_tier() -> None:
    policy = ThresholdPolicy(
        strategy=Strategy.FIXED,
        tiers=(("T1", TierSpec.parse(60)), ("T2", TierSpec.parse(40)), ("T3", TierSpec.parse(15))),
    )
    levels = compute_levels(policy, None, DAY)
    assert (levels.t1, levels.t2, levels.t3) == (60, 40, 15)


def test_tier_specs_as_multiples_days_and_lead_time() -> None:
    policy = ThresholdPolicy(
        strategy=Strategy.FIXED,
        fixed_threshold=100,
        tiers=(("T1", TierSpec.parse("1.2x")), ("T3", TierSpec.parse("lead+1d"))),
        lead_time_days=3,
        new_item_daily_sales=5,
    )
    levels = compute_levels(policy, None, DAY)
    assert (levels.t1, levels.t2, levels.t3) == (120, 100, 20)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("120", TierSpecKind.ABSOLUTE, 120),
        ("1.5x", TierSpecKind.MULTIPLE, 1.5),
        ("3d", TierSpecKind.DAYS, 3),
        ("lead", TierSpecKind.LEAD, 0),
        ("lead+2d", TierSpecKind.LEAD, 2),
    ],
)
def test_tier_specs_parse(text: str, kind: TierSpecKind, value: float) -> None:
    spec = TierSpec.parse(text)
    assert (spec.kind, spec.value) == (kind, value)
    assert TierSpec.parse(str(spec)) == spec


@pytest.mark.parametrize("text", ["abc", "-3", "0x", "lead*2", "1.5y", "nan"])
def test_bad_tier_specs_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="tier level"):
        TierSpec.parse(text)


def test_absolute_tiers_out_of_order_are_a_config_error() -> None:
    with pytest.raises(ValueError, match="out of order"):
        ThresholdPolicy(
            strategy=Strategy.FIXED,
            tiers=(
                ("T1", TierSpec.parse(10)),
                ("T2", TierSpec.parse(40)),
                ("T3", TierSpec.parse(5)),
            ),
        )


def test_a_manual_override_always_wins_and_zero_disables() -> None:
    policy = ThresholdPolicy(manual=ManualLevels(t2=500))
    levels = compute_levels(policy, _history(20, 6), DAY)
    assert levels.t2 == 500 and levels.t1 >= 500 and levels.t3 <= 500
    off = compute_levels(ThresholdPolicy(manual=ManualLevels(threshold=0)), _history(20, 6), DAY)
    assert off.disabled
    assert int(off.classify(0)) == 0


def test_a_manual_t1_below_computed_levels_pulls_them_down() -> None:
    levels = compute_levels(ThresholdPolicy(manual=ManualLevels(t1=30)), _history(20, 6), DAY)
    assert levels.t1 == 30 and levels.t2 <= 30 and levels.t3 <= levels.t2


@given(
    st.lists(st.integers(min_value=-5, max_value=500), max_size=100),
    st.sampled_from(list(Strategy)),
    st.floats(min_value=0.5, max_value=0.9999),
    st.floats(min_value=0, max_value=30),
)
@settings(max_examples=300)
def test_levels_are_always_ordered_finite_and_positive(
    history: list[int], strategy: Strategy, alpha: float, lead: float
) -> None:
    policy = ThresholdPolicy(
        strategy=strategy, service_level=alpha, lead_time_days=lead, fixed_threshold=25
    )
    levels = compute_levels(policy, history, DAY, Item("ANY", item_class=ItemClass.C))
    assert levels.t1 >= levels.t2 >= levels.t3 >= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lead_time_days": -1}, "lead_time_days"),
        ({"lead_time_days": math.inf}, "lead_time_days"),
        ({"lead_time_sd_days": -1}, "lead_time_sd_days"),
        ({"review_days": -1}, "review_days"),
        ({"buffer_units": -1}, "buffer_units"),
        ({"cover_t3_days": 0}, "cover_t3_days"),
        ({"window_days": 1}, "window_days"),
        ({"velocity_days": 0}, "velocity_days"),
        ({"min_history_days": -1}, "min_history_days"),
        ({"new_item_daily_sales": -1}, "new_item_daily_sales"),
        ({"new_item_days": 0}, "new_item_days"),
        ({"intermittent_method": "croston"}, "intermittent_method"),
        ({"strategy": Strategy.FIXED}, "needs a threshold"),
        ({"fixed_threshold": -5}, "threshold must be"),
        ({"combine": (Strategy.COMBINED,)}, "combine"),
        ({"t3_floor": 0}, "t3_floor"),
    ],
)
def test_impossible_policies_are_rejected_with_the_field_name(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ThresholdPolicy(**kwargs)  # type: ignore[arg-type]


def test_manual_levels_must_be_ordered_and_non_negative() -> None:
    with pytest.raises(ValueError, match="out of order"):
        ManualLevels(t1=10, t3=20)
    with pytest.raises(ValueError, match="negative"):
        ManualLevels(t2=-1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"end": date(2026, 1, 1)}, "ends before it starts"),
        ({"multiplier": 0}, "multiplier"),
        ({"target": "price"}, "target"),
        ({"skus": frozenset()}, "names no items"),
    ],
)
def test_bad_promotions_are_rejected(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "name": "618",
        "start": date(2026, 6, 1),
        "end": date(2026, 6, 18),
        "multiplier": 2.0,
        "skus": frozenset({"A"}),
    }
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Promotion(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("daily", "label"),
    [
        ([5] * 30, "smooth"),
        ([1, 30] * 15, "erratic"),
        ([0, 0, 5] * 10, "intermittent"),
        ([0, 0, 1, 0, 0, 40] * 5, "lumpy"),
        ([0] * 10, "none"),
    ],
)
def test_sbc_classes(daily: list[int], label: str) -> None:
    assert sbc_class(demand_stats(daily)) == label


def test_empirical_quantile_needs_enough_history() -> None:
    assert empirical_lead_time_demand([1, 2], 7, 0.95) is None
    assert empirical_lead_time_demand([1, 2, 3], 0, 0.95) is None


def test_orders_are_sized_from_the_recent_clean_mean_not_the_velocity() -> None:
    # 60 days of 2 a day, then 20 days of 3, then 10 of 4: the velocity is 4/day, the last 28
    # days average (18·3 + 10·4)/28 = 94/28 = 3.357/day: a month's order sized from the last
    # week alone would be 19 % larger.
    daily = [2] * 60 + [3] * 20 + [4] * 10
    policy = ThresholdPolicy(lead_time_days=7, buffer_days=0)
    levels = compute_levels(policy, daily, DAY)
    assert levels.velocity == pytest.approx(4.0)
    assert levels.order_rate == pytest.approx(94 / 28)
    assert levels.basis.input("d_order") == pytest.approx(94 / 28)
    assert compute_levels(replace(policy, order_rate_days=10), daily, DAY).order_rate == 4.0
    # A window shorter than order_rate_days: the whole (shorter) history.
    assert compute_levels(replace(policy, window_days=20), daily, DAY).order_rate == 3.5


def test_the_order_rate_leaves_stockout_and_promotion_days_out_and_is_never_uplifted() -> None:
    daily = [2] * 60 + [3] * 20 + [4] * 10
    policy = ThresholdPolicy(lead_time_days=7, buffer_days=0)
    # The last day (11-23) was a stockout: 27 days remain, (18·3 + 9·4)/27 = 90/27.
    out = compute_levels(policy, daily, DAY, stockout_days={date(2026, 11, 23)})
    assert out.order_rate == pytest.approx(90 / 27)
    # A promotion starting tomorrow lifts d̄ (the reorder point) but not the order rate.
    item = Item("A")
    promo = Promotion("双12", date(2026, 11, 25), date(2026, 11, 27), 3.0, skus=frozenset({"A"}))
    boosted = compute_levels(policy, daily, DAY, item, [promo])
    assert boosted.basis.input("d") == pytest.approx(4.0 * (4 + 3 * 3) / 7)
    assert boosted.order_rate == pytest.approx(94 / 28)
    # A new item sizes from its rule rate; a lumpy one from its window mean (as d̄).
    assert compute_levels(policy, [0] * 85 + [1] * 5, DAY).order_rate == 1.0
    lumpy = compute_levels(ThresholdPolicy(lead_time_days=10, buffer_days=0), [0, 0, 12] * 30, DAY)
    assert lumpy.order_rate == pytest.approx(360 / 88)


@given(
    st.lists(st.integers(-3, 40), min_size=1, max_size=120),
    st.integers(1, 60),
    st.sets(st.integers(0, 119), max_size=20),
)
def test_the_order_rate_is_a_mean_of_recent_clean_days_and_ignores_future_promotions(
    daily: list[int], days: int, out_idx: set[int]
) -> None:
    policy = ThresholdPolicy(lead_time_days=5, buffer_days=0, order_rate_days=days)
    outs = {DAY - timedelta(days=len(daily) - i) for i in out_idx if i < len(daily)}
    levels = compute_levels(policy, daily, DAY, stockout_days=outs)
    history = [max(x, 0) for x in daily[-policy.window_days :]]
    if levels.basis.strategy == "default":  # a new item: the rule rate
        assert levels.order_rate == policy.new_item_daily_sales
    else:
        assert min(history) <= levels.order_rate <= max(history)
    assert math.isfinite(levels.order_rate) and levels.order_rate >= 0
    ahead = Promotion(
        "later", DAY + timedelta(days=1), DAY + timedelta(days=3), 4.0, skus=frozenset({"A"})
    )
    with_promo = compute_levels(policy, daily, DAY, Item("A"), [ahead], outs)
    plain = compute_levels(policy, daily, DAY, Item("A"), [], outs)
    assert with_promo.order_rate == plain.order_rate


def test_a_fill_rate_target_sizes_the_buffer_by_the_shortage_per_order_and_says_so() -> None:
    # d̄ 20/day, σ ≈ 6, L 7: a 95 % cycle service level carries Z·σ·√7 ≈ 26 units. With
    # month-sized orders (Q = 30 × 20 = 600) a 99 % fill rate allows 6 units short per order,
    # less than σLT·G(0) ≈ 6.3, so a small buffer; with one-week orders (Q = 140) more.
    daily = [14, 26] * 45
    base = ThresholdPolicy(lead_time_days=7, buffer_days=0)
    csl = compute_levels(base, daily, DAY)
    month = compute_levels(replace(base, fill_rate=0.99, order_cycle_days=30), daily, DAY)
    week = compute_levels(replace(base, fill_rate=0.99), daily, DAY)
    sd_lt = dict(month.basis.inputs)["sd"] * math.sqrt(7)
    assert month.basis.input("order_qty") == pytest.approx(600.0)
    assert week.basis.input("order_qty") == pytest.approx(140.0)
    # Hand-checked: G(z) = 6/σLT gives the buffer z·σLT above 140.
    ss = {s.label: s.value for s in month.basis.steps}["SS"]
    assert ss == pytest.approx(max(0.0, _z_for_loss(6.0 / sd_lt)) * sd_lt, abs=1e-6)
    assert month.t2 < week.t2 < csl.t2
    assert month.basis.input("fill_rate") == 0.99
    assert any("fill-rate target β 0.99" in n and "Q 600.0" in n for n in month.basis.notes)
    assert month.basis.input("order_cycle_days") == 30.0 and month.order_cycle_days == 30.0


def _z_for_loss(target: float) -> float:
    """Invert G(z) = φ(z) − z·(1 − Φ(z)) with the stdlib NormalDist (an independent oracle)."""
    nd = NormalDist()
    lo, hi = -6.0, 6.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if nd.pdf(mid) - mid * (1 - nd.cdf(mid)) > target:
            lo = mid
        else:
            hi = mid
    return hi


def test_a_fill_rate_for_lumpy_demand_reads_the_shortage_off_the_order_windows() -> None:
    # 24 units every 5th day (d̄ 4.8): each order window of a selling day and the next 7 days
    # sums 48 (one more order inside the 7 days). With a 99 % fill rate and month orders
    # (Q ≈ 150) one unit and a half may be short per order; the CSL quantile is no lower.
    daily = [24 if i % 5 == 4 else 0 for i in range(90)]
    base = ThresholdPolicy(lead_time_days=7, buffer_days=0)
    csl = compute_levels(base, daily, DAY)
    beta = compute_levels(replace(base, fill_rate=0.99, order_cycle_days=30), daily, DAY)
    sums = order_window_sums(clean_history(daily, [False] * 90), 7)
    allowed = 0.01 * 18 * 24 / 86 * 30  # the window mean from the first sale on, × 30 days
    assert beta.basis.input("order_qty") == pytest.approx(allowed / 0.01)
    level = {s.label: s.value for s in beta.basis.steps}["ROP (empirical)"]
    assert sum(max(s - level, 0) for s in sums) / len(sums) <= allowed
    assert sum(max(s - (level - 1), 0) for s in sums) / len(sums) > allowed
    assert beta.t2 <= csl.t2


def test_an_intermittent_fill_rate_sizes_only_the_lumpy_items() -> None:
    # One policy, two items: the lumpy one is sized for β = 99 % of month-sized orders, the
    # steady one keeps the 95 % cycle service level (no fill-rate inputs, the same levels).
    lumpy = [24 if i % 5 == 4 else 0 for i in range(90)]
    steady = [14, 26] * 45
    base = ThresholdPolicy(lead_time_days=7, buffer_days=0, order_cycle_days=30)
    mixed = replace(base, intermittent_fill_rate=0.99)
    assert compute_levels(mixed, steady, DAY) == compute_levels(base, steady, DAY)
    sized = compute_levels(mixed, lumpy, DAY)
    assert sized.basis.input("fill_rate") == 0.99
    # Q: the window mean from the first sale on (86 days, 18 orders of 24) × 30 days.
    assert sized.basis.input("order_qty") == pytest.approx(18 * 24 / 86 * 30)
    assert sized == compute_levels(replace(base, fill_rate=0.99), lumpy, DAY)
    with pytest.raises(ValueError, match="intermittent_fill_rate"):
        ThresholdPolicy(intermittent_fill_rate=1.0)
