"""The replay's recompute days follow the daemon's schedule ([thresholds] recompute)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from stockwatch.wiring.backtest import recompute_days

TZ = ZoneInfo("Asia/Shanghai")


def test_weekly_and_monthly_recompute_days() -> None:
    assert recompute_days("weekly", date(2026, 1, 1), 30, TZ) == [7, 14, 21, 28]
    assert recompute_days("weekly", date(2026, 1, 1), 7, TZ) == []
    # From 31 January: 28 February (the month is shorter), then 28 March.
    assert recompute_days("monthly", date(2026, 1, 31), 60, TZ) == [28, 56]
    assert recompute_days("never", date(2026, 1, 1), 365, TZ) == []


def test_a_cron_schedule_counts_once_a_day() -> None:
    # Mondays at 03:00; 1 January 2026 is a Thursday: Mondays are days 4, 11, 18.
    assert recompute_days("0 3 * * 1", date(2026, 1, 1), 20, TZ) == [4, 11, 18]
    # Every hour: every day from the second one on (day 0 is the replay's own start).
    assert recompute_days("0 * * * *", date(2026, 1, 1), 4, TZ) == [1, 2, 3]


def test_a_bad_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="cron"):
        recompute_days("fortnightly", date(2026, 1, 1), 30, TZ)
