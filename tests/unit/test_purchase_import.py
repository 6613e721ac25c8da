"""Purchase-order lines to records: matched by offer and spec, never guessed; statuses from
what was paid, received and closed; expected from the payment plus the lead time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stockwatch.adapters.alibaba1688.purchases import PurchaseLine
from stockwatch.adapters.purchase_import import to_orders
from stockwatch.core.model import Item, ItemKey, OfferMapping
from stockwatch.core.purchasing import OrderStatus

T0 = datetime(2026, 12, 1, 2, tzinfo=UTC)
DAY = timedelta(days=1)
ITEMS = [
    Item("MUG", supplier="义乌杯厂", offer=OfferMapping("MUG", "111", spec_id="red")),
    Item("LAMP", offer=OfferMapping("LAMP", "222")),
    Item("CUP", warehouse="HZ", offer=OfferMapping("CUP", "333")),
    Item("CUP", warehouse="SH", offer=OfferMapping("CUP", "333")),
]


def line(offer: str, spec: str | None = None, **kw: object) -> PurchaseLine:
    values: dict[str, object] = {
        "order_id": "9001",
        "line": 0,
        "offer_id": offer,
        "spec_id": spec,
        "sku_id": None,
        "quantity": 50,
        "status": "waitsellersend",
        "supplier": "yiwu_factory",
        "created_at": T0,
        "modified_at": T0,
        "paid_at": T0 + timedelta(hours=1),
    }
    values.update(kw)
    return PurchaseLine(**values)  # type: ignore[arg-type]


def test_lines_match_one_item_by_offer_and_spec_or_are_reported() -> None:
    lines = [
        line("111", "red"),
        line("111", "blue", line=1),  # the offer's other spec: no item
        line("222", "any", line=2),  # an offer kept without specs matches by the offer
        line("333", line=3),  # two warehouses: not guessed
        line("999", line=4),
    ]
    orders, unpaid, unmatched = to_orders(lines, ITEMS, lambda key, item: 4.0)
    assert [str(o.key) for o in orders] == ["MUG", "LAMP"]
    assert unpaid == 0
    assert unmatched == [
        "9001:1 111/blue (no item)",
        "9001:3 333/- (several items: CUP@HZ, CUP@SH)",
        "9001:4 999/- (no item)",
    ]
    mug = orders[0]
    assert mug.supplier == "义乌杯厂" and orders[1].supplier == "yiwu_factory"
    assert mug.ordered_at == T0 + timedelta(hours=1)  # from the payment
    assert mug.expected_at == mug.ordered_at + 4 * DAY
    assert (mug.external_ref, mug.source, mug.status) == (
        "1688:9001:0",
        "1688",
        OrderStatus.ORDERED,
    )


def test_statuses_follow_payment_receipts_and_closing() -> None:
    signed = T0 + 5 * DAY
    cases = [
        (line("111", "red", status="waitbuyerpay", paid_at=None), None),
        (line("111", "red", received_qty=20, received_at=signed), OrderStatus.PARTIAL),
        (line("111", "red", received_qty=50, received_at=signed), OrderStatus.RECEIVED),
        (line("111", "red", status="cancel"), OrderStatus.CANCELLED),
        (line("111", "red", status="terminated", received_qty=20), OrderStatus.CANCELLED),
    ]
    for given, status in cases:
        orders, unpaid, _ = to_orders([given], ITEMS, lambda key, item: 3.0)
        assert [o.status for o in orders] == ([] if status is None else [status]), given
        assert unpaid == (status is None)
    orders, _, _ = to_orders([cases[2][0]], ITEMS, lambda key, item: 3.0)
    assert orders[0].lead_time_days == (signed - (T0 + timedelta(hours=1))) / DAY
    assert orders[0].key == ItemKey("MUG")
