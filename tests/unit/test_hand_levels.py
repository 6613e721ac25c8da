"""Hand-set levels: defaults for T1/T3, 0 switches off, bad order is refused by name."""

from __future__ import annotations

import pytest

from stockwatch.service.hand_levels import HAND_SET, hand_levels, is_hand_set


def test_t2_alone_gives_the_fixed_strategy_defaults() -> None:
    levels = hand_levels(40, None, None, "dashboard", 2.5)
    assert (levels.t1, levels.t2, levels.t3, levels.velocity) == (60, 40, 20, 2.5)
    assert levels.basis.strategy == HAND_SET and is_hand_set(levels)
    assert hand_levels(1, None, None, "x", 0.0).t3 == 1


def test_zero_switches_alerts_off_and_a_bad_order_is_refused() -> None:
    assert hand_levels(0, None, None, "dashboard", 1.0).disabled
    with pytest.raises(ValueError, match="out of order"):
        hand_levels(40, 30, None, "dashboard", 1.0)
    with pytest.raises(ValueError, match="t2"):
        hand_levels(-1, None, None, "dashboard", 1.0)
