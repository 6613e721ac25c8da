"""The check use case: levels for every item, tiers worst first, bad items reported."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from stockwatch.core.model import Item, ItemKey, Reading, ReadingSource, Tier
from stockwatch.core.thresholds import Strategy, ThresholdPolicy
from stockwatch.service.check import assess, levels_for_items

NOW = datetime(2026, 11, 24, tzinfo=UTC)
DAY = date(2026, 11, 24)


def policy_for(item: Item | None, sku: str) -> ThresholdPolicy:
    # min_selling_days=0: the 7-day velocity is used even when it is 0 (cover ∞).
    return ThresholdPolicy(strategy=Strategy.FIXED, fixed_threshold=40, min_selling_days=0)


def read(sku: str, qty: int | None) -> Reading:
    if qty is None:
        return Reading.failed(ItemKey(sku), NOW, ReadingSource.POLL, "timeout")
    return Reading(ItemKey(sku), NOW, ReadingSource.IMPORT, qty)


def test_statuses_come_worst_first_then_by_days_of_cover() -> None:
    keys = [ItemKey(s) for s in ("CALM", "LOW", "LOWER", "GONE", "SLOW")]
    sales = {"LOW": [10] * 90, "LOWER": [1] * 90, "SLOW": [2] * 20 + [0] * 70}
    levels, errors = levels_for_items(keys, {}, policy_for, sales, DAY)
    assert errors == []
    statuses = assess(
        [
            read("CALM", 500),
            read("LOW", 35),
            read("LOWER", 30),
            read("GONE", 0),
            read("SLOW", 39),
            read("LOW", None),
        ],
        {},
        levels,
    )
    assert [(str(s.key), s.tier) for s in statuses] == [
        ("GONE", Tier.OUT),
        ("LOW", Tier.T2),
        ("LOWER", Tier.T2),
        ("SLOW", Tier.T2),
        ("CALM", Tier.OK),
    ]
    assert statuses[1].days_of_cover == 3.5 and math.isinf(statuses[3].days_of_cover or 0)


def test_an_item_with_impossible_data_is_reported_not_fatal() -> None:
    shaky = Item("SHAKY", lead_time_days=1, lead_time_sd_days=4)
    levels, errors = levels_for_items(
        [ItemKey("SHAKY"), ItemKey("FINE")],
        {ItemKey("SHAKY"): shaky},
        lambda item, sku: ThresholdPolicy(),
        {},
        DAY,
    )
    assert list(levels) == [ItemKey("FINE")]
    assert errors[0].key == ItemKey("SHAKY") and "exceeds the lead time" in errors[0].message
