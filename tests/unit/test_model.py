"""Domain values: keys, readings, levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stockwatch.core.model import (
    AlertPolicy,
    DebounceRule,
    ItemKey,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)

AT = datetime(2026, 11, 24, tzinfo=UTC)


def test_item_keys_round_trip_with_a_warehouse() -> None:
    assert str(ItemKey("DESK-LAMP", "HZ")) == "DESK-LAMP@HZ"
    assert ItemKey.parse("DESK-LAMP@HZ") == ItemKey("DESK-LAMP", "HZ")
    assert ItemKey.parse("DESK-LAMP") == ItemKey("DESK-LAMP")
    with pytest.raises(ValueError, match="empty SKU"):
        ItemKey.parse("@HZ")


def test_a_key_means_itself_or_the_one_warehouse_its_bare_sku_is_kept_in() -> None:
    hz, sh, lamp = ItemKey("CUP", "HZ"), ItemKey("CUP", "SH"), ItemKey("LAMP")
    assert lamp.meaning([lamp, hz]) == (lamp,)
    assert ItemKey("CUP").meaning([hz, lamp]) == (hz,)  # kept in one warehouse only
    assert ItemKey("CUP").meaning([sh, hz]) == (hz, sh)  # several: ask which
    assert ItemKey("CUP", "BJ").meaning([hz, sh]) == ()  # a warehouse it is not kept in
    assert ItemKey("MUG").meaning([hz, lamp]) == ()  # unknown
    assert ItemKey("CUP").meaning([ItemKey("CUP"), hz]) == (ItemKey("CUP"),)  # kept bare too


def test_available_position_is_on_hand_minus_committed_plus_in_transit() -> None:
    r = Reading(ItemKey("X"), AT, ReadingSource.POLL, 100, committed=30, in_transit=50)
    assert r.available == 120
    failed = Reading.failed(ItemKey("X"), AT, ReadingSource.POLL, "timeout")
    assert failed.is_failed and failed.available is None


def test_levels_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="T1 ≥ T2 ≥ T3 > 0"):
        TierLevels(10, 20, 5)
    with pytest.raises(ValueError):
        TierLevels(10, 5, 0)
    assert TierLevels.off().disabled


def test_classify_uses_less_or_equal() -> None:
    lv = TierLevels(100, 60, 20)
    assert [lv.classify(q) for q in (101, 100, 60, 20, 1, 0)] == [
        Tier.OK,
        Tier.T1,
        Tier.T2,
        Tier.T3,
        Tier.T3,
        Tier.OUT,
    ]
    assert lv.level(Tier.T2) == 60 and lv.level(Tier.OUT) == 0


def test_tier_names_parse() -> None:
    assert Tier.parse("t2") is Tier.T2 and Tier.parse(" out ") is Tier.OUT
    with pytest.raises(ValueError, match="unknown tier"):
        Tier.parse("T9")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dedupe_window": timedelta(hours=-1)},
        {"recover_margin_ratio": 1.5},
        {"renotify_drop_ratio": 1.0},
        {"sharp_drop_ratio": -0.1},
        {"stale_after_reads": 0},
        {"debounce": ((Tier.T1, DebounceRule(readings=0)),)},
    ],
)
def test_alert_policy_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AlertPolicy(**kwargs)  # type: ignore[arg-type]


def test_recover_margin_is_ten_percent_or_one_unit() -> None:
    policy = AlertPolicy()
    assert policy.recover_margin(100) == 10
    assert policy.recover_margin(5) == 1


def test_only_firing_and_recovering_are_announced_phases() -> None:
    from stockwatch.core.model import Phase

    assert [p for p in Phase if p.announced] == [Phase.FIRING, Phase.RECOVERING]
