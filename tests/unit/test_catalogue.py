"""The simulator's catalogue and sales model: seeded, draining, restocking, churning."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from stockwatch.adapters.alibaba1688.simulator.catalogue import (
    Catalogue,
    StatusChange,
    sample_demand,
)

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


def test_sample_skus_sell_what_their_sales_history_says_and_never_restock_by_themselves(
    tmp_path: Path,
) -> None:
    # Finding 20: the demo's simulator sold a random 0.5-3 units an hour whatever the history
    # said, and restocked behind the merchant's back.
    items = tmp_path / "items.csv"
    items.write_text(
        "sku,offer_id,spec_id\nFAST,610000000001,a\nSLOW,610000000001,b\nPLAIN,610000000002,\n",
        encoding="utf-8",
    )
    sales = tmp_path / "sales.csv"
    days = [date(2026, 8, 1) + timedelta(days=n) for n in range(60)]
    rows = [f"{d},FAST,{40 + (n % 3) * 10}" for n, d in enumerate(days)]  # mean 50, sd ≈ 8.2
    rows += [f"{d},PLAIN,2" for d in days[::2]]  # every other day: mean 1 a day
    sales.write_text("date,sku,quantity\n" + "\n".join(rows) + "\n", encoding="utf-8")
    demand = sample_demand(items, sales)
    assert set(demand) == {("610000000001", "a"), ("610000000002", None)}  # SLOW: no history
    fast = demand[("610000000001", "a")]
    assert fast.daily_mean == pytest.approx(50) and fast.daily_sd == pytest.approx(8.23, abs=0.01)
    assert demand[("610000000002", None)].daily_mean == pytest.approx(1.0, abs=0.02)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    stock = [("610000000001", "a", 100_000), ("610000000001", "b", 7), ("610000000002", None, 3)]
    cat = Catalogue.from_sample(stock, seed=3, now=start, restock=False, demand=demand)
    daily = []
    for day in range(1, 201):
        offer = cat.get(610000000001, start + timedelta(days=day))
        assert offer is not None
        daily.append(100_000 - offer.skus[0].amount - sum(daily))
        assert offer.skus[1].amount == 7  # a SKU without history of its own sells nothing
    assert statistics.fmean(daily) == pytest.approx(50, rel=0.05)
    assert statistics.stdev(daily) == pytest.approx(8.23, rel=0.25)
    plain = cat.get(610000000002, start + timedelta(days=200))
    assert plain is not None and plain.amount == 0  # sold out and never restocked
