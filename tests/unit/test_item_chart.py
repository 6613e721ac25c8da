"""The item chart's levels over time: what was in force then, not today's levels throughout."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from stockwatch.core.model import Basis, ItemKey, Reading, ReadingSource, TierLevels
from stockwatch.entrypoints.web.item_chart import chart_data, level_history
from stockwatch.ports import AlertEvent, StoredReading, StoredThreshold, ThresholdStatus

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _version(n: int, hours: int, status: ThresholdStatus, t2: int, reason: str | None = None):  # type: ignore[no-untyped-def]
    levels = TierLevels(t2 * 2, t2, t2 // 2, 1.0, Basis("fixed"))
    return StoredThreshold("CUP", n, T0 + timedelta(hours=hours), status, levels, reason)


def _event(hours: int, levels: tuple[int, int, int, float]) -> AlertEvent:
    return AlertEvent(
        f"k{hours}", ItemKey("CUP"), "raised", "T2", "OK", T0 + timedelta(hours=hours), 1,
        5, 5, levels,
    )  # fmt: skip


def test_levels_step_when_a_version_applied_and_skip_versions_never_in_force() -> None:
    versions = [
        _version(3, 5, ThresholdStatus.SUPERSEDED, 90, reason="T2 ×3"),  # rejected: never in force
        _version(2, 2, ThresholdStatus.ACTIVE, 40),
        _version(1, 0, ThresholdStatus.SUPERSEDED, 30),
    ]
    events = [_event(1, (60, 30, 15, 1.0)), _event(3, (80, 40, 20, 1.0))]
    history = level_history(versions, events, (80, 40, 20), T0 + timedelta(hours=6))
    t2 = [(int((p.at - T0).total_seconds() // 3600), p.levels[1] if p.levels else None)
          for p in history]  # fmt: skip
    assert t2 == [(0, 30), (2, 40), (6, 40)]


def test_chart_data_is_plain_json_with_milliseconds() -> None:
    reading = Reading(ItemKey("CUP"), T0, ReadingSource.POLL, 12, committed=2)
    data = chart_data(
        [StoredReading(1, reading, T0)],
        [],
        [_event(0, (60, 30, 15, 1.0))],
        None,
        T0 + timedelta(hours=1),
        sales=[(date(2026, 11, 19), 4)],
        promotions=[("双11", T0, T0 + timedelta(days=1))],
    )
    ms = int(T0.timestamp() * 1000)
    assert data["stock"] == [[ms, 10]]
    assert data["levels"]["T1"] == [[ms, 60], [ms + 3_600_000, None]]  # switched off now
    assert data["alerts"][0]["kind"] == "raised"
    assert data["sales"] == [["2026-11-19", 4]]
    assert data["promotions"] == [["双11", ms, ms + 86_400_000]]
