"""The overview query on SQLite and PostgreSQL: worst first across pages, filters, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from stockwatch.adapters.db.overview import OverviewFilter, SqlOverview
from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import AlertState, Item, ItemKey, Phase, Tier

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
STALE = timedelta(hours=6)
# sku -> (tier, available); the rest of the 30 items are OK with 100 available.
AT_RISK = {"CUP-07": (Tier.T2, 4), "CUP-03": (Tier.OUT, 0), "CUP-11": (Tier.T2, 2)}


def _seed(engine: Engine) -> SqlStore:
    store = SqlStore(engine)
    items = [
        Item(
            f"CUP-{n:02d}",
            title="龙纹茶杯" if n % 2 else "Plain cup",
            supplier="义乌龙窑" if n < 10 else "汕头玩具厂",
            category="茶具" if n % 3 == 0 else "玩具",
            tags=frozenset({"季节"}) if n == 5 else frozenset(),
        )
        for n in range(30)
    ]
    store.sync_items(items, {}, NOW)
    for item in items:
        if item.sku == "CUP-29":
            continue  # never read: stale
        tier, available = AT_RISK.get(item.sku, (Tier.OK, 100))
        state = AlertState(
            phase=Phase.FIRING if tier is not Tier.OK else Phase.OK,
            tier=tier,
            last_available=available,
            last_reading_at=NOW - (timedelta(hours=7) if item.sku == "CUP-28" else timedelta()),
            version=1,
        )
        with store.transaction() as tx:
            assert tx.save_alert_state(ItemKey(item.sku), state, 0, NOW)
            tx.commit()
    return store


def _keys(page: object) -> list[str]:
    return [i.key for i in page.items]  # type: ignore[attr-defined]


def test_pages_go_worst_first_then_by_key_without_gaps_or_repeats(engine: Engine) -> None:
    _seed(engine)
    overview = SqlOverview(engine)
    first = overview.page(OverviewFilter(), NOW, STALE, 0, 4)
    # OUT, then the two T2 by key (no velocity known: cover unknown), then the OK ones by key.
    assert _keys(first) == ["CUP-03", "CUP-07", "CUP-11", "CUP-00"]
    assert first.total == 30 and first.counts == {4: 1, 2: 2, 0: 27}
    seen = []
    for offset in range(0, 30, 7):
        seen += _keys(overview.page(OverviewFilter(), NOW, STALE, offset, 7))
    assert len(seen) == 30 and len(set(seen)) == 30 and seen[:4] == _keys(first)


def test_filters_search_and_stale_narrow_the_rows_and_the_counts(engine: Engine) -> None:
    _seed(engine)
    overview = SqlOverview(engine)

    def keys(**kw: object) -> list[str]:
        return _keys(overview.page(OverviewFilter(**kw), NOW, STALE, 0, 100))  # type: ignore[arg-type]

    assert keys(tier="risk") == ["CUP-03", "CUP-07", "CUP-11"]
    assert keys(tier="T2") == ["CUP-07", "CUP-11"]
    assert len(keys(tier="OK")) == 27
    assert keys(search="cup-1", supplier="义乌龙窑") == []
    assert keys(search="龙纹", category="茶具") == [
        "CUP-03",
        "CUP-09",
        "CUP-15",
        "CUP-21",
        "CUP-27",
    ]
    assert keys(tag="季节") == ["CUP-05"]
    assert keys(search="100%") == []  # LIKE wildcards in the search are literal
    assert keys(stale=True) == ["CUP-28", "CUP-29"]
    page = overview.page(OverviewFilter(supplier="义乌龙窑"), NOW, STALE, 0, 100)
    assert page.total == 10 and page.counts == {4: 1, 2: 1, 0: 8}
    assert overview.choices()["supplier"] == ["义乌龙窑", "汕头玩具厂"]


def test_a_page_row_carries_its_state_and_stock(engine: Engine) -> None:
    _seed(engine)
    [row] = SqlOverview(engine).page(OverviewFilter(), NOW, STALE, 0, 1, only="CUP-07").items
    assert (row.tier_rank, row.available, row.stale) == (2, 4, False)
    assert row.state is not None and row.state.phase is Phase.FIRING
    assert row.item.supplier == "义乌龙窑" and row.has_version is False
