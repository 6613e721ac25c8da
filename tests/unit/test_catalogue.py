"""The simulator's catalogue and sales model: seeded, draining, restocking, churning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue, StatusChange

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_the_same_seed_tells_the_same_story() -> None:
    a = Catalogue.generate(50, (1, 6), seed=42, now=T0)
    b = Catalogue.generate(50, (1, 6), seed=42, now=T0)
    later = T0 + timedelta(days=3)
    totals_a = [a.get(o.offer_id, later).total for o in list(a)]  # type: ignore[union-attr]
    totals_b = [b.get(o.offer_id, later).total for o in list(b)]  # type: ignore[union-attr]
    assert totals_a == totals_b
    assert all(1 <= len(o.skus) <= 6 for o in a)


def test_stock_drains_and_restocks_over_simulated_weeks() -> None:
    cat = Catalogue.generate(40, (0, 3), seed=1, now=T0, churn=False)
    start = {o.offer_id: o.total for o in cat}
    low: set[int] = set()
    restocked: set[int] = set()
    for day in range(1, 30):
        for offer in cat:
            before = offer.total
            cat.advance(offer, T0 + timedelta(days=day))
            if offer.total <= offer.reorder_at:
                low.add(offer.offer_id)
            if offer.total > before:
                restocked.add(offer.offer_id)
    assert sum(o.total for o in cat) != sum(start.values())
    assert low and restocked  # stock falls through reorder points and comes back


def test_offers_get_delisted_and_relisted() -> None:
    cat = Catalogue.generate(150, (0, 2), seed=4, now=T0)
    seen: list[StatusChange] = []
    cat.listener = lambda offer, changes: seen.extend(
        c for c in changes if isinstance(c, StatusChange)
    )
    for offer in cat:
        cat.advance(offer, T0 + timedelta(days=30))
    kinds = {(c.old, c.new) for c in seen}
    assert ("published", "member expired") in kinds
    assert ("member expired", "published") in kinds


def test_stock_never_goes_negative() -> None:
    cat = Catalogue.generate(40, (0, 4), seed=8, now=T0, churn=False)
    for offer in cat:
        cat.advance(offer, T0 + timedelta(days=30))
    assert all(s.amount >= 0 for o in cat for s in o.skus)
    assert all(o.amount >= 0 for o in cat)
