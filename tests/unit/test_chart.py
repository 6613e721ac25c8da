"""The stock chart's scaling into the SVG box."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stockwatch.entrypoints.web.chart import CHART_H, CHART_W, PAD, stock_chart

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
