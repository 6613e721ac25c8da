"""An item whose alert a poll left open, for tests of what acting on it does."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.core.model import AlertState, Basis, Item, ItemKey, Phase, Tier, TierLevels
from stockwatch.ports import NewThreshold, ThresholdStatus


def open_alert(
    engine: Engine,
    key: ItemKey,
    now: datetime,
    phase: Phase = Phase.FIRING,
    position: int = 10,
    t1: int = 100,
) -> None:
    """The item (in the catalogue) at ``position`` with active levels T1 ``t1``, its alert in
    ``phase`` (announced when firing) as a poll an hour before ``now`` left it; no reading is
    kept, so an order is judged on that position plus the order."""
    read_at = now - timedelta(hours=1)
    SqlStore(engine).sync_items(
        [Item(key.sku, warehouse=key.warehouse, supplier="义乌杯业")], {}, now
    )
    levels = TierLevels(t1, t1 // 2, t1 // 4, 10.0, Basis("fixed", (), (), ()))
    SqlThresholdStore(engine).save([NewThreshold(str(key), levels, ThresholdStatus.ACTIVE)], now)
    announced = phase is Phase.FIRING
    with SqlStore(engine).transaction() as tx:
        was = tx.alert_state(key).version  # 0 the first time; a test may set it up again
        state = AlertState(
            phase=phase,
            tier=Tier.T2,
            episode=2 if announced else 1,
            since=None if announced else read_at,
            last_notice_at=read_at if announced else None,
            last_reading_at=read_at,
            last_available=position,
            version=was + 1,
        )
        assert tx.save_alert_state(key, state, was, now)
        tx.commit()
