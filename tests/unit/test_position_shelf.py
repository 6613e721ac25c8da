"""Position and shelf: T1/T2 from on hand − committed + on order, T3/OUT also from the shelf."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stockwatch.core.alerting import evaluate, observed_tier
from stockwatch.core.messages import render
from stockwatch.core.model import (
    AlertPolicy,
    AlertState,
    ItemKey,
    NoticeKind,
    OnOrder,
    Phase,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
KEY = ItemKey("CUP")
LEVELS = TierLevels(t1=100, t2=60, t3=20, velocity=10)


def read(on_hand: int, committed: int = 0, in_transit: int = 0) -> Reading:
    return Reading(KEY, T0, ReadingSource.POLL, on_hand, committed, in_transit)


def test_position_decides_when_to_order_and_the_shelf_what_customers_see() -> None:
    # Hand-computed: on hand 50, committed 10 → shelf 40; +100 on order → position 140.
    assert LEVELS.classify_stock(140, 40) is Tier.OK  # ordered: nothing to do
    assert LEVELS.classify_stock(50, 40) is Tier.T2  # not ordered: order now
    assert LEVELS.classify_stock(140, 15) is Tier.T3  # shelf nearly empty despite the order
    assert LEVELS.classify_stock(140, 0) is Tier.OUT  # empty shelf is OUT with goods on the way
    assert LEVELS.classify_stock(140, -3) is Tier.OUT  # oversold


def test_an_open_order_lifts_the_position_and_the_notice_says_when_it_is_due() -> None:
    due = T0 + timedelta(days=3)
    _, (notice,) = evaluate(AlertState(), read(0), LEVELS, AlertPolicy(), T0, OnOrder(200, due))
    assert notice.tier is Tier.OUT and notice.kind is NoticeKind.RAISED
    assert (notice.available, notice.shelf, notice.on_order, notice.due) == (200, 0, 200, due)
    text = render(notice, lang="zh-CN").text
    assert "货架库存：0（在途 200，预计到货 12-04 10:00）" in text
    assert "可用库存：200" in text
    en = render(notice, lang="en").text
    assert "Shelf: 0 (on order 200, due 12-04 10:00)" in en


def test_the_snapshot_in_transit_is_not_added_to_the_orders_a_second_time() -> None:
    _, (notice,) = evaluate(
        AlertState(), read(10, in_transit=30), LEVELS, AlertPolicy(), T0, OnOrder(40)
    )
    assert notice.available == 50  # max(30, 40) on order, not 70


@given(
    position=st.integers(-1000, 1000),
    shelf=st.integers(-1000, 0),
    t3=st.integers(1, 50),
    extra=st.tuples(st.integers(0, 100), st.integers(0, 100)),
)
def test_an_empty_shelf_is_never_ok(
    position: int, shelf: int, t3: int, extra: tuple[int, int]
) -> None:
    levels = TierLevels(t3 + extra[0] + extra[1], t3 + extra[0], t3)
    assert levels.classify_stock(position, shelf) is Tier.OUT
    for phase in Phase:
        for tier in Tier:
            state = AlertState(phase=phase, tier=tier)
            assert observed_tier(state, position, levels, AlertPolicy(), shelf) is Tier.OUT


@given(on_hand=st.integers(-50, 500), on_order=st.integers(0, 500))
def test_goods_on_the_way_never_make_the_tier_worse(on_hand: int, on_order: int) -> None:
    without = LEVELS.classify_stock(on_hand, on_hand)
    with_order = LEVELS.classify_stock(on_hand + on_order, on_hand)
    assert with_order <= without
    assert with_order >= LEVELS.shelf_tier(on_hand)


def test_a_low_shelf_waits_for_t3_when_the_goods_come_before_it_runs_out() -> None:
    # Shelf 15 ≤ T3 20 at 10/day lasts 1.5 days; 100 on order.
    soon = OnOrder(100, T0 + timedelta(days=1))
    late = OnOrder(100, T0 + timedelta(days=3))
    assert evaluate(AlertState(), read(15), LEVELS, AlertPolicy(), T0, soon)[1] == ()
    _, (notice,) = evaluate(AlertState(), read(15), LEVELS, AlertPolicy(), T0, late)
    assert notice.tier is Tier.T3 and notice.available == 115
    _, (empty,) = evaluate(AlertState(), read(0), LEVELS, AlertPolicy(), T0, soon)
    assert empty.tier is Tier.OUT  # an empty shelf is OUT even with goods due tomorrow
