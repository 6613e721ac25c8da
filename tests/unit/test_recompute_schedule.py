"""When the daemon's next threshold recompute is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stockwatch.adapters.recompute_schedule import SHANGHAI, next_recompute_at, recompute_due

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_weekly_and_monthly_count_from_the_last_run() -> None:
    last = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    assert next_recompute_at("weekly", last, NOW) == last + timedelta(days=7)
    jan31 = datetime(2027, 1, 31, 3, 0, tzinfo=SHANGHAI)
    assert next_recompute_at("monthly", jan31, NOW) == datetime(2027, 2, 28, 3, 0, tzinfo=SHANGHAI)
    dec = datetime(2026, 12, 15, 3, 0, tzinfo=SHANGHAI)
    assert next_recompute_at("Monthly", dec, NOW) == datetime(2027, 1, 15, 3, 0, tzinfo=SHANGHAI)


def test_a_first_recompute_is_due_at_once() -> None:
    assert recompute_due("weekly", None, NOW)
    assert not recompute_due("weekly", NOW - timedelta(days=6), NOW)
    assert recompute_due("weekly", NOW - timedelta(days=7), NOW)


def test_cron_is_read_in_shanghai_time() -> None:
    # every Monday 03:00 in Shanghai; NOW is Tuesday 09:00 there
    due = next_recompute_at("0 3 * * 1", NOW - timedelta(hours=1), NOW)
    assert due.astimezone(SHANGHAI) == datetime(2026, 11, 30, 3, 0, tzinfo=SHANGHAI)
    with pytest.raises(ValueError, match="cron"):
        next_recompute_at("every tuesday", None, NOW)
    with pytest.raises(ValueError, match="aware"):
        next_recompute_at("weekly", None, NOW.replace(tzinfo=None))
