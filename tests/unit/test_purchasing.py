"""Purchase orders in the core: open quantity, partial receipts, lead times, late notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockwatch.core.messages import render
from stockwatch.core.model import ItemKey, NoticeKind, Tier, TierLevels
from stockwatch.core.purchasing import (
    OrderStatus,
    PurchaseOrder,
    late_notice,
    late_orders,
    on_order,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)
KEY = ItemKey("CUP")
LEVELS = TierLevels(t1=100, t2=60, t3=20, velocity=10)


def order(qty: int = 100, expected_days: float = 7, **kw: object) -> PurchaseOrder:
    return PurchaseOrder(
        KEY,
        "jinhua",
        qty,
        T0,
        T0 + expected_days * DAY,
        id=7,
        **kw,  # type: ignore[arg-type]
    )


def test_partial_then_full_receipt_closes_the_order_and_gives_its_lead_time() -> None:
    po = order(100)
    part = po.receive(40, T0 + 5 * DAY)
    assert (part.status, part.open_quantity, part.lead_time_days) == (OrderStatus.PARTIAL, 60, None)
    done = part.receive(60, T0 + 9 * DAY + 12 * timedelta(hours=1))
    assert (done.status, done.open_quantity, done.lead_time_days) == (OrderStatus.RECEIVED, 0, 9.5)
    with pytest.raises(ValueError, match="received"):
        done.receive(1, T0 + 10 * DAY)


def test_bad_orders_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="quantity"):
        order(0)
    with pytest.raises(ValueError, match="before"):
        order(10, expected_days=-1)
    with pytest.raises(ValueError, match="> 0"):
        order().receive(0, T0)


def test_on_order_sums_open_quantities_and_takes_the_earliest_due() -> None:
    a = order(100, 7)
    b = order(50, 3).receive(20, T0 + DAY)
    c = order(30, 1).cancel()
    total = on_order([a, b, c])
    assert (total.quantity, total.due) == (130, T0 + 3 * DAY)
    assert on_order([]).quantity == 0


def test_an_order_is_late_only_after_its_expected_day_plus_the_tolerance() -> None:
    po = order(100, 7)
    assert late_orders([po], 80, 10, T0 + 8 * DAY) == []  # exactly on the tolerance: not yet
    (late,) = late_orders([po], 80, 10, T0 + 10 * DAY)
    # 3 days late, 80 on the shelf at 10/day lasts 8 days ≥ 3 more days: not escalated.
    assert (late.days_late, late.shelf_days, late.escalated) == (3.0, 8.0, False)
    (urgent,) = late_orders([po], 20, 10, T0 + 10 * DAY)
    assert urgent.shelf_days == 2.0 and urgent.escalated  # runs out before it can arrive
    (empty,) = late_orders([po], 0, 0, T0 + 10 * DAY)
    assert empty.escalated and empty.shelf_days is None
    # Past due with a shelf that will not last: reported at once, without the tolerance.
    (at_once,) = late_orders([po], 5, 10, T0 + 7.5 * DAY)
    assert at_once.escalated and at_once.days_late == 0.5
    assert late_orders([po], 500, 10, T0 + 7.5 * DAY) == []


def test_the_late_notice_names_order_supplier_days_and_shelf_and_is_keyed_per_order() -> None:
    (late,) = late_orders([order(100, 7)], 20, 10, T0 + 10 * DAY)
    notice = late_notice(
        KEY,
        late,
        LEVELS,
        T0 + 10 * DAY,
        on_hand=20,
        shelf=20,
        position=120,
        on_order_qty=100,
        due=T0 + 7 * DAY,
    )
    assert notice.kind is NoticeKind.LATE_SUPPLIER and notice.tier is Tier.T3
    assert notice.idempotency_key == "CUP|po:PO7|late_supplier|escalated"
    text = render(notice, lang="zh-CN").text
    for words in ("供应商延迟到货", "采购单：PO7 × 100", "供应商：jinhua", "已延迟：3.0天"):
        assert words in text
    assert "货架可售：2.0天" in text and "到货前货架将售罄" in text
    en = render(notice, lang="en").text
    assert "Late by: 3.0 d" in en and "Shelf lasts: 2.0 d" in en


@given(
    received=st.lists(st.integers(1, 60), min_size=1, max_size=6),
    qty=st.integers(1, 200),
)
def test_open_quantity_never_goes_negative_and_received_orders_are_closed(
    received: list[int], qty: int
) -> None:
    po = order(qty)
    at = T0
    for part in received:
        if not po.is_open:
            break
        at += DAY
        po = po.receive(part, at)
        assert 0 <= po.open_quantity <= qty
    assert po.is_open == (sum(received[: len(received)]) < qty and po.received_qty < qty)
