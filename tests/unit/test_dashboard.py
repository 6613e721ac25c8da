"""The stock chart's scaling and the dashboard's sort order, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stockwatch.core.model import ItemKey, Phase, Tier
from stockwatch.entrypoints.dashboard import CHART_H, CHART_W, PAD, ItemRow, stock_chart

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_a_single_reading_is_drawn_without_dividing_by_a_zero_time_span() -> None:
    chart = stock_chart([(T0, 12)], (50, 30, 10))
    assert chart is not None
    assert chart.points == f"{PAD}.0,{chart.dots[0][1]}"
    assert [name for name, _, _ in chart.levels] == ["T1", "T2", "T3"]


def test_levels_and_stock_share_one_scale_and_stay_inside_the_box() -> None:
    chart = stock_chart([(T0, 80), (T0 + timedelta(hours=1), -3)], (50, 30, 10))
    assert chart is not None and chart.y_max >= 80
    ys = [y for _, _, y in chart.levels] + [y for _, y, _ in chart.dots]
    assert all(PAD <= y <= CHART_H - PAD for y in ys)
    assert chart.dots[-1][0] == CHART_W - PAD and chart.dots[-1][1] == CHART_H - PAD  # oversold
    t1_y = chart.levels[0][2]
    assert chart.dots[0][1] < t1_y  # 80 is above the T1 line of 50


def test_no_readings_means_no_chart() -> None:
    assert stock_chart([], None) is None


def _row(sku: str, tier: Tier, cover: float | None) -> ItemRow:
    return ItemRow(
        ItemKey(sku),
        "",
        "",
        tier,
        Phase.FIRING,
        1,
        1,
        None,
        0.0,
        cover,
        None,
        0,
        False,
        False,
        None,
        None,
    )


def test_rows_sort_by_tier_then_days_of_cover_with_unknown_cover_last() -> None:
    rows = [
        _row("PAPER-KITE", Tier.T2, None),
        _row("TIN-ROBOT", Tier.T2, 3.0),
        _row("SNOW-GLOBE", Tier.OUT, 0.0),
        _row("GLOW-LAMP", Tier.OK, 1.0),
        _row("RUBBER-DUCK", Tier.T2, 1.5),
    ]
    ordered = [r.key.sku for r in sorted(rows, key=ItemRow.sort_key)]
    assert ordered == ["SNOW-GLOBE", "RUBBER-DUCK", "TIN-ROBOT", "PAPER-KITE", "GLOW-LAMP"]
