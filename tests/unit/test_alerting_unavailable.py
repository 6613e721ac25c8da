"""The core turns the 1688 client's readings into the right notices: unavailable, sharp drop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stockwatch.core.alerting import evaluate
from stockwatch.core.model import (
    AlertPolicy,
    AlertState,
    ItemKey,
    NoticeKind,
    OfferStatus,
    Reading,
    ReadingSource,
    TierLevels,
)

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
KEY = ItemKey("NEON-SNEAKER-42")
LEVELS = TierLevels(100, 50, 20)


def read(minutes: int, on_hand: int | None, status: OfferStatus = OfferStatus.ACTIVE) -> Reading:
    at = T0 + timedelta(minutes=minutes)
    if on_hand is None:
        return Reading.failed(KEY, at, ReadingSource.POLL, "timeout")
    return Reading(KEY, at, ReadingSource.POLL, on_hand, offer_status=status)


def run(readings: list[Reading], policy: AlertPolicy) -> list[NoticeKind]:
    state, kinds = AlertState(), []
    for reading in readings:
        state, notices = evaluate(state, reading, LEVELS, policy, reading.observed_at)
        kinds.extend(n.kind for n in notices)
    return kinds


def test_a_delisting_is_announced_once_and_is_not_low_stock() -> None:
    kinds = run(
        [
            read(0, 500),
            read(10, 0, OfferStatus.DELISTED),
            read(20, 0, OfferStatus.DELISTED),
            read(30, 480),
        ],
        AlertPolicy(),
    )
    assert kinds == [NoticeKind.UNAVAILABLE]


def test_failed_reads_never_look_like_a_delisting_or_an_outage() -> None:
    kinds = run([read(0, 500), read(10, None), read(20, 490)], AlertPolicy())
    assert kinds == []


def test_a_sharp_fall_above_the_threshold_is_reported() -> None:
    kinds = run([read(0, 900), read(60, 300)], AlertPolicy(sharp_drop_ratio=0.5))
    assert kinds == [NoticeKind.SHARP_DROP]
    assert run([read(0, 900), read(60, 600)], AlertPolicy(sharp_drop_ratio=0.5)) == []
