"""Levels a person sets on the dashboard for one item, and taking them back.

A hand-set level is a threshold version like any other (strategy ``hand_set``), so the
evaluator uses it at once, the item's chart shows when it applied, and the history says who set
it. The scheduled recompute leaves an item with a hand-set level alone until it is cleared;
clearing restores the newest computed version (or, when there never was one, the configured
levels).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Protocol

from stockwatch.core.model import Basis, TierLevels
from stockwatch.ports import NewThreshold, StoredThreshold, ThresholdStatus, ThresholdStore

HAND_SET = "hand_set"


class HandLevelStore(ThresholdStore, Protocol):
    def retire_active(self, key: str) -> bool:
        """Supersede the key's active version without a replacement (config levels apply)."""
        ...


def hand_levels(t2: int, t1: int | None, t3: int | None, actor: str, velocity: float) -> TierLevels:
    """T2 is the threshold; T1 and T3 default as for the ``fixed`` strategy (1.5×, 0.5×).

    A T2 of 0 switches the item's alerts off. Raises ValueError naming the bad field.
    """
    basis = Basis(HAND_SET, (("T2", float(t2)),), notes=(f"set by {actor}",))
    if t2 < 0:
        raise ValueError(f"t2: must not be negative, got {t2}")
    if t2 == 0:
        return TierLevels.off(basis)
    upper = t1 if t1 is not None else math.ceil(t2 * 1.5)
    lower = t3 if t3 is not None else max(1, t2 // 2)
    if not upper >= t2 >= lower > 0:
        raise ValueError(f"levels out of order: need T1 ≥ T2 ≥ T3 > 0, got {upper}/{t2}/{lower}")
    return TierLevels(upper, t2, lower, velocity=velocity, basis=basis)


def set_hand_level(
    store: HandLevelStore,
    key: str,
    t2: int,
    actor: str,
    now: datetime,
    t1: int | None = None,
    t3: int | None = None,
) -> StoredThreshold:
    current = store.current([key]).get(key)
    velocity = current.active.levels.velocity if current and current.active else 0.0
    levels = hand_levels(t2, t1, t3, actor, velocity)
    store.save([NewThreshold(key, levels, ThresholdStatus.ACTIVE)], now)
    return store.versions(key, 1)[0]


def clear_hand_level(store: HandLevelStore, key: str, now: datetime) -> bool:
    """Take back a hand-set level; False when the item has none."""
    history = store.versions(key, 100)
    active = next((v for v in history if v.status is ThresholdStatus.ACTIVE), None)
    if active is None or active.levels.basis.strategy != HAND_SET:
        return False
    computed = next((v for v in history if v.levels.basis.strategy != HAND_SET), None)
    if computed is None:
        return store.retire_active(key)
    store.save([NewThreshold(key, computed.levels, ThresholdStatus.ACTIVE)], now)
    return True


def is_hand_set(levels: TierLevels | None) -> bool:
    return levels is not None and levels.basis.strategy == HAND_SET
