"""Purchase orders in the core: open quantity, partial receipts, lead times, late notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockwatch.core.messages import render
from stockwatch.core.model import ItemKey, NoticeKind, Tier, TierLevels
from stockwatch.core.purchasing import (
    SAME_PURCHASE_WINDOW,
    BookedIn,
    OrderStatus,
    OverReceipt,
    PurchaseOrder,
    Receipt,
    booked_not_shelved,
    late_notice,
    late_orders,
    on_order,
    same_purchase,
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
        if part > po.open_quantity:  # more than is still open: refused, not closed silently
            with pytest.raises(OverReceipt):
                po.receive(part, at)
            part = po.open_quantity
        po = po.receive(part, at)
        assert 0 <= po.open_quantity <= qty
    assert po.is_open == (po.received_qty < qty)
    assert po.received_qty <= qty


def hand(qty: int = 100, hours: float = 0, oid: int = 1, **kw: object) -> PurchaseOrder:
    at = T0 + hours * timedelta(hours=1)
    return PurchaseOrder(KEY, "jinhua", qty, at, at + 7 * DAY, id=oid, **kw)  # type: ignore[arg-type]


def imported(qty: int = 100, hours: float = 0, source: str = "1688") -> PurchaseOrder:
    at = T0 + hours * timedelta(hours=1)
    return PurchaseOrder(
        KEY, "jinhua", qty, at, at + 7 * DAY, external_ref="1688:9:0", source=source
    )


def test_an_imported_line_is_the_hand_placed_order_of_the_same_item_and_quantity() -> None:
    a, b = hand(100, 0, oid=1), hand(60, 2, oid=2)
    assert same_purchase(imported(100, 20), [a, b]) == a  # same quantity beats closer in time
    assert same_purchase(imported(60, 20), [a, b]) == b
    # Same quantity twice: the closest in time.
    c = hand(100, 30, oid=3)
    assert same_purchase(imported(100, 26), [a, c]) == c
    # A different quantity links only an only candidate (the 1688 line is what is coming).
    assert same_purchase(imported(90, 20), [a]) == a
    assert same_purchase(imported(90, 20), [a, b]) is None


def test_no_link_outside_the_window_across_items_to_closed_or_to_the_same_source() -> None:
    days = SAME_PURCHASE_WINDOW / DAY
    assert same_purchase(imported(100, 24 * days + 1), [hand(100)]) is None
    assert same_purchase(imported(100, 24 * days), [hand(100)]) is not None  # the edge counts
    other = PurchaseOrder(ItemKey("CUP", "HZ"), "jinhua", 100, T0, T0 + DAY, id=5)
    assert same_purchase(imported(100), [other]) is None
    assert same_purchase(imported(100), [hand(100).cancel()]) is None
    assert same_purchase(imported(100), [hand(100, external_ref="1688:8:0")]) is None
    assert same_purchase(imported(100), [imported(100)]) is None
    assert same_purchase(hand(100), [hand(100, oid=9)]) is None
    linked = imported(100, source="linked")
    assert same_purchase(hand(100), [linked]) is None  # linked once, never again
    assert same_purchase(linked, [hand(100)]) is None


def test_a_hand_placed_order_finds_the_imported_line_the_other_way_round() -> None:
    line = imported(80, 30)
    assert same_purchase(hand(80, 0), [line]) == line


@given(
    st.lists(
        st.tuples(
            st.integers(1, 5),  # quantity
            st.integers(-200, 200),  # hours from T0
            st.sampled_from(["manual", "1688", "linked"]),
            st.booleans(),  # open
        ),
        max_size=8,
    ),
    st.integers(1, 5),
    st.integers(-100, 100),
)
def test_a_link_is_always_open_same_item_other_source_and_inside_the_window(
    rows: list[tuple[int, int, str, bool]], qty: int, hours: int
) -> None:
    others = []
    for n, (q, h, source, is_open) in enumerate(rows):
        ref = None if source == "manual" else f"1688:{n}:0"
        o = hand(q, h, oid=n, source=source, external_ref=ref)
        others.append(o if is_open else o.cancel())
    line = imported(qty, hours)
    found = same_purchase(line, others)
    candidates = [
        o
        for o in others
        if o.is_open
        and o.source == "manual"
        and abs(o.ordered_at - line.ordered_at) <= SAME_PURCHASE_WINDOW
    ]
    if found is None:
        # Nothing linked: no candidate, or several and none of the same quantity.
        assert not candidates or (
            len(candidates) > 1 and all(o.quantity != qty for o in candidates)
        )
    else:
        assert found in candidates
        if any(o.quantity == qty for o in candidates):
            assert found.quantity == qty


GRACE = timedelta(hours=12)


def test_goods_booked_in_count_until_the_shelf_shows_them_or_the_grace_ends() -> None:
    booked = (Receipt(T0, 100),)
    later = T0 + timedelta(hours=1)
    assert booked_not_shelved(BookedIn(booked, ()), later, GRACE) == 100  # nothing read
    assert booked_not_shelved(BookedIn(booked, (25, 25, 24)), later, GRACE) == 100  # not yet
    assert booked_not_shelved(BookedIn(booked, (25, 85)), later, GRACE) == 40  # 60 counted in
    assert booked_not_shelved(BookedIn(booked, (25, 125)), later, GRACE) == 0  # all of them
    assert booked_not_shelved(BookedIn(booked, (25, 125, 25)), later, GRACE) == 0  # then sold
    assert booked_not_shelved(BookedIn(booked, (25,)), T0 + GRACE, GRACE) == 0  # grace over
    assert booked_not_shelved(BookedIn(booked, (25,)), T0 - timedelta(hours=1), GRACE) == 0


def test_found_in_review_no_goods_are_counted_twice() -> None:
    later = T0 + timedelta(hours=2)
    # 50 booked at shelf 10, shown (60), sold to 20; then 30 booked at 20 and shown (50).
    two = (Receipt(T0, 50), Receipt(T0 + timedelta(hours=1), 30))
    assert booked_not_shelved(BookedIn(two, (10, 60, 20, 50)), later, GRACE) == 0
    # 50 booked at 10, sold down to 2, then shown (52).
    assert booked_not_shelved(BookedIn((Receipt(T0, 50),), (10, 2, 52)), later, GRACE) == 0
    # Counted in before it was booked (the shelf rose from 10 to 60 an hour earlier).
    assert booked_not_shelved(BookedIn((Receipt(T0, 50),), (10, 60, 58)), later, GRACE) == 0


@given(
    st.lists(st.integers(1, 300), min_size=1, max_size=4),
    st.lists(st.integers(0, 500), max_size=12),
    st.integers(0, 300),
)
def test_once_the_shelf_has_risen_by_what_was_booked_nothing_is_arriving(
    booked: list[int], before: list[int], sold: int
) -> None:
    # Whatever the shelf did before, the goods then counted in (one rise by all of them) and
    # any sale afterwards: nothing is left arriving, so nothing is counted twice.
    receipts = tuple(Receipt(T0 + timedelta(minutes=i), q) for i, q in enumerate(booked))
    last = before[-1] if before else 0
    shown = last + sum(booked)
    shelves = (*before, last, shown, max(shown - sold, 0))
    now = T0 + timedelta(hours=1)
    assert booked_not_shelved(BookedIn(receipts, shelves), now, GRACE) == 0
    # And before they were counted in, never more than was booked, never below nothing.
    arriving = booked_not_shelved(BookedIn(receipts, (*before, last)), now, GRACE)
    assert 0 <= arriving <= sum(booked)
