"""Counts per tier kept by triggers (migration 0011) equal a count over the items, always."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tier_counts import compact, install, tier_counts, uninstall
from stockwatch.core.model import AlertState, Item, ItemKey, Phase, Tier
from stockwatch.ports import StateSave

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def counted(engine: Engine) -> dict[int, int]:
    """What the triggers' rows must sum to: active items per rank, no state being OK (0)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT coalesce(s.tier_rank, 0), count(*) FROM items i LEFT JOIN alert_states s"
                ' ON s.item_key = i."key" WHERE i.active GROUP BY coalesce(s.tier_rank, 0)'
            )
        )
        return {int(rank): int(n) for rank, n in rows}


def kept(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return tier_counts(conn)


def state(tier: Tier, version: int = 1) -> AlertState:
    phase = Phase.OK if tier is Tier.OK else Phase.FIRING
    return AlertState(phase=phase, tier=tier, last_available=5, version=version)


def save(store: SqlStore, sku: str, tier: Tier, expected: int) -> None:
    with store.transaction() as tx:
        assert tx.save_alert_state(ItemKey(sku), state(tier, expected + 1), expected, NOW)
        tx.commit()


def test_counts_follow_items_and_states_through_every_kind_of_change(engine: Engine) -> None:
    store = SqlStore(engine)
    items = [Item(f"CUP-{n:02d}", title="cup") for n in range(12)]
    store.sync_items(items, {}, NOW)
    assert kept(engine) == counted(engine) == {0: 12}

    save(store, "CUP-01", Tier.T2, 0)
    save(store, "CUP-02", Tier.OUT, 0)
    save(store, "CUP-03", Tier.OK, 0)  # a state at OK changes nothing
    assert kept(engine) == counted(engine) == {0: 10, 2: 1, 4: 1}

    save(store, "CUP-01", Tier.T3, 1)  # worse
    save(store, "CUP-02", Tier.OK, 1)  # recovered
    with store.transaction() as tx:  # the batched save (a poll cycle)
        saved = tx.save_alert_states(
            [
                StateSave(ItemKey("CUP-04"), state(Tier.T1), 0),
                StateSave(ItemKey("CUP-01"), state(Tier.T1, 3), 2),
            ],
            NOW,
        )
        tx.commit()
    assert len(saved) == 2
    assert kept(engine) == counted(engine) == {0: 10, 1: 2}

    store.sync_items(items[2:], {}, NOW + timedelta(hours=1))  # CUP-00, CUP-01 leave the catalogue
    assert kept(engine) == counted(engine) == {0: 9, 1: 1}
    save(store, "CUP-01", Tier.OUT, 3)  # an inactive item's state moves: not counted
    assert kept(engine) == counted(engine)
    store.sync_items(items, {}, NOW + timedelta(hours=2))  # back, with the tier it has now
    assert kept(engine) == counted(engine) == {0: 10, 1: 1, 4: 1}

    save(store, "GHOST", Tier.T3, 0)  # a state without an item row is not counted ...
    assert kept(engine) == counted(engine)
    store.sync_items([*items, Item("GHOST", title="late")], {}, NOW)  # ... until it has one
    assert kept(engine) == counted(engine) == {0: 10, 1: 1, 3: 1, 4: 1}

    with engine.begin() as conn:  # rows deleted by hand (or by a future cleanup)
        conn.execute(text("DELETE FROM alert_states WHERE item_key = 'CUP-04'"))
        conn.execute(text("DELETE FROM items WHERE \"key\" IN ('CUP-01', 'CUP-05')"))
        conn.execute(text("UPDATE alert_states SET tier_rank = 2 WHERE item_key = 'GHOST'"))
    assert kept(engine) == counted(engine) == {0: 10, 2: 1}


def test_compacting_folds_the_rows_and_keeps_the_counts(engine: Engine) -> None:
    store = SqlStore(engine)
    store.sync_items([Item(f"CUP-{n:02d}", title="cup") for n in range(5)], {}, NOW)
    for version, tier in enumerate((Tier.T1, Tier.T2, Tier.OK, Tier.T3)):
        save(store, "CUP-00", tier, version)
    before = kept(engine)
    with engine.begin() as conn:
        assert compact(conn) > 2
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM tier_counts")).scalar_one()
    assert rows == len(before) and kept(engine) == before == counted(engine)
    store.apply_retention(NOW, timedelta(days=7), timedelta(days=90))  # the daemon's pass
    with engine.begin() as conn:
        assert compact(conn) == len(before)  # already folded
    assert kept(engine) == before


def test_installing_counts_what_is_already_there(engine: Engine) -> None:
    store = SqlStore(engine)
    store.sync_items([Item(f"CUP-{n:02d}", title="cup") for n in range(4)], {}, NOW)
    with engine.begin() as conn:
        uninstall(conn)  # as a database before migration 0011
    save(store, "CUP-00", Tier.OUT, 0)
    store.sync_items([Item("CUP-00", title="cup"), Item("CUP-09", title="new")], {}, NOW)
    with engine.begin() as conn:
        install(conn)
    assert kept(engine) == counted(engine) == {0: 1, 4: 1}
    save(store, "CUP-09", Tier.T2, 0)  # and the triggers count from there on
    assert kept(engine) == counted(engine) == {4: 1, 2: 1}


def test_postgres_calls_the_trigger_function_only_for_states_outside_rank_0(
    pg_engine: Engine,
) -> None:
    # A poll cycle creates and saves tens of thousands of states at rank 0: a PL/pgSQL call per
    # row cost ~10 µs (0.7 s for 65,000 new states). Every alert_states trigger has a WHEN.
    with pg_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t"
                " WHERE t.tgrelid = 'alert_states'::regclass AND NOT t.tgisinternal"
            )
        ).all()
    assert len(rows) == 3, rows
    for name, definition in rows:
        assert " WHEN " in definition, (name, definition)
    store = SqlStore(pg_engine)
    store.sync_items([Item("CUP-01"), Item("CUP-02")], {}, NOW)
    save(store, "CUP-01", Tier.OK, 0)
    save(store, "CUP-02", Tier.T3, 0)
    assert kept(pg_engine) == counted(pg_engine) == {0: 1, int(Tier.T3): 1}
