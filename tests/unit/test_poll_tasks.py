"""Planning a group's poll as tasks: an offer's SKUs stay in one batch; every item once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stockwatch.core.model import Item, OfferMapping
from stockwatch.service.poll_tasks import BatchLedger, plan_batches


def _item(sku: str, offer: str | None) -> Item:
    return Item(sku, offer=OfferMapping(sku, offer) if offer else None)


def test_batches_hold_whole_offers_and_every_item_exactly_once() -> None:
    items = [_item(f"TEA-{i}", str(600 + i // 3)) for i in range(10)] + [_item("LOOSE", None)]
    batches = plan_batches(items, offers_per_task=2)
    flat = [key for batch in batches for key in batch]
    assert sorted(flat) == sorted(str(i.key) for i in items)
    assert len(flat) == len(set(flat))
    offer_of = {str(i.key): i.offer.offer_id if i.offer else str(i.key) for i in items}
    for batch in batches:
        assert len({offer_of[k] for k in batch}) <= 2
    for offer in set(offer_of.values()):
        assert sum(any(offer_of[k] == offer for k in b) for b in batches) == 1


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="offers_per_task"):
        plan_batches([], 0)


T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def test_a_batch_is_overdue_once_after_resend_after_and_a_new_cycle_replaces_the_old() -> None:
    ledger = BatchLedger(timedelta(seconds=10))
    ledger.queued("fast", [["MUG"], ["BOWL", "BOWL@HZ"]], T0)
    ledger.queued("slow", [["LAMP"]], T0 + timedelta(seconds=5))
    assert ledger.overdue(T0 + timedelta(seconds=9)) == []
    first = ledger.overdue(T0 + timedelta(seconds=10))
    assert [(b.group, b.keys) for b in first] == [("fast", ("MUG",)), ("fast", ("BOWL", "BOWL@HZ"))]
    assert ledger.overdue(T0 + timedelta(seconds=11)) == []  # handed out once
    ledger.queued("slow", [["LAMP"], []], T0 + timedelta(seconds=12))  # the next cycle
    assert ledger.open_count() == 1
    assert ledger.overdue(T0 + timedelta(seconds=16)) == []  # the old LAMP batch is gone
    [again] = ledger.overdue(T0 + timedelta(seconds=22))
    assert (again.group, again.keys, again.queued_at) == (
        "slow",
        ("LAMP",),
        T0 + timedelta(seconds=12),
    )
