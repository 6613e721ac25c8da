"""Stockouts found in readings and sales, per-tier figures, ranked suggestions and their words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stockwatch.core.model import ItemKey, Tier
from stockwatch.core.review_advice import (
    Effect,
    StockoutSpan,
    Suggestion,
    TimedEvent,
    describe,
    detect_stockouts,
    rank,
    supplier_lateness,
    tier_stats,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DUCK = ItemKey("DUCK")


def test_a_day_ending_at_zero_stock_is_a_stockout() -> None:
    stock = [5, 0, 0, 3, None, 0]
    spans = detect_stockouts(stock, [2, 1, 0, 0, 1, 3], expected_rate=0.0)
    assert spans == [StockoutSpan(1, 2, "stock 0"), StockoutSpan(5, 5, "stock 0")]
    assert spans[0].days == 2


def test_sales_stopping_while_demand_was_expected_is_a_stockout() -> None:
    # 2 a day expected: 3 silent days (d̄·n = 6 ≥ 4.6) are unlikely by chance; 2 days (4) are not.
    sales = [2, 0, 0, 0, 3, 0, 0, 2]
    assert detect_stockouts([None] * 8, sales, 2.0) == [StockoutSpan(1, 3, "sales stopped")]
    # A slow seller (0.5 a day) needs 10 silent days before it counts.
    assert detect_stockouts([None] * 9, [0] * 9, 0.5) == []
    assert detect_stockouts([None] * 10, [0] * 10, 0.5) == [StockoutSpan(0, 9, "sales stopped")]
    # A fast seller's single silent day is not enough on its own.
    assert detect_stockouts([None] * 3, [9, 0, 9], 9.0) == []
    # A reading that shows stock on the shelf means nobody wanted it: not a stockout.
    assert detect_stockouts([None, 7, None], [0, 0, 0], 2.0) == []


def _e(kind: str, tier: Tier, hours: float, episode: int = 1) -> TimedEvent:
    return TimedEvent(DUCK, kind, tier, T0 + timedelta(hours=hours), episode)


def test_tier_stats_by_hand() -> None:
    events = [
        _e("raised", Tier.T1, 0),
        _e("worsened", Tier.T2, 10),
        _e("ack", Tier.T2, 12),
        _e("worsened", Tier.OUT, 40),
        _e("raised", Tier.T1, 100, 2),
        _e("reminder", Tier.T1, 124, 2),
        _e("worsened", Tier.OUT, 130, 2),
    ]
    stats = {s.tier: s for s in tier_stats(events)}
    assert [stats[t].notices for t in (Tier.T1, Tier.T2, Tier.T3, Tier.OUT)] == [3, 1, 0, 2]
    # T1 warned 40 h and 30 h before running out: median of two is the larger, worst 30 h.
    assert stats[Tier.T1].median_warning == timedelta(hours=40)
    assert stats[Tier.T1].worst_warning == timedelta(hours=30)
    assert stats[Tier.T2].worst_warning == timedelta(hours=30)
    # Acknowledged 12 h after the first notice, when T2 was the worst announced.
    assert stats[Tier.T2].median_ack == timedelta(hours=12) and stats[Tier.T2].acks == 1
    assert stats[Tier.T1].median_ack is None and stats[Tier.T3].median_warning is None


def test_suggestions_are_ranked_by_expected_good_and_useless_ones_dropped() -> None:
    raise_sl = Suggestion(
        "raise_service_level", ("A", "B"), {"stockouts": 2}, Effect(10, 2, 3.0, 20, 22)
    )
    lower = Suggestion("lower_t1", ("C",), {"notices": 9}, Effect(0, 0, -1.0, 9, 3))
    useless = Suggestion("lower_t1", ("D",), {"notices": 9}, Effect(0, 1, -1.0, 9, 9))
    riskier = Suggestion("lower_t1", ("E",), {"notices": 9}, Effect(0, 2, -1.0, 9, 1))
    no_gain = Suggestion("raise_service_level", ("F",), {"stockouts": 1}, Effect(3, 3, 1.0, 5, 2))
    assert rank([lower, useless, riskier, no_gain, raise_sl]) == [raise_sl, lower]
    assert describe(raise_sl, "en") == (
        "Raise the service level of these 2 items (A, B): they ran out 2 time(s); a backtest "
        "expects -80 % stockout days for +3.0 days of stock"
    )
    assert "−" not in describe(lower, "zh-CN") and "通知 -67 %" in describe(lower, "zh-CN")
    late = Suggestion(
        "supplier_late", ("X",), {"supplier": "X", "late_share": 0.4, "learned": 11, "declared": 7}
    )
    assert describe(late, "en") == (
        "Supplier X is late on 40% of orders: its learned lead time is 11 days, not 7"
    )


def test_a_late_supplier_is_suggested_only_when_its_learned_lead_time_helps() -> None:
    facts: dict[str, float | str] = {
        "supplier": "X",
        "late_share": 0.4,
        "learned": 11,
        "declared": 7,
    }
    helps = Suggestion("supplier_late", ("A", "B"), facts, Effect(8, 2, 2.5, 10, 10))
    no_good = Suggestion("supplier_late", ("C",), facts, Effect(4, 4, 3.0, 6, 5))
    worse = Suggestion("supplier_late", ("D",), facts, Effect(4, 5, 3.0, 6, 5))
    assert rank([no_good, worse, helps]) == [helps]
    assert helps.weight == 60  # 6 stockout days avoided × 10, no notice saved
    assert describe(helps, "en") == (
        "Supplier X is late on 40% of orders: its learned lead time is 11 days, not 7; with the "
        "learned lead time in the levels of its 2 item(s), a backtest expects -75 % stockout "
        "days for +2.5 days of stock"
    )
    assert describe(helps, "zh-CN") == (
        "供应商 X 有 40% 的订单迟到：实际平均交期 11 天，而不是 7 天；按学到的交期计算预警线"
        "（2 个商品），回测预计断货天数 -75 %，库存 +2.5 天"
    )


def test_supplier_lateness_counts_orders_more_than_a_day_late() -> None:
    orders = [("X", 7, 7.5), ("X", 7, 11), ("X", 7, 12), ("Y", 5, 5)]
    assert supplier_lateness(orders) == {"X": (3, 2, 30.5 / 3), "Y": (1, 0, 5.0)}
