"""The recompute use case: versions only on change, big jumps wait for review, reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.core.model import Basis, TierLevels
from stockwatch.core.thresholds import ThresholdPolicy, compute_levels
from stockwatch.ports import ComputedLevels, StoredThreshold, ThresholdStatus
from stockwatch.service.recompute import (
    decide,
    describe_change,
    recompute,
    review_reason,
)

AS_OF = date(2026, 11, 24)


class ReferenceComputer:
    """Per-item levels with the core reference, from sales the test controls."""

    def __init__(self, sales: dict[str, list[int]]) -> None:
        self.sales = sales
        self.calls: list[int] = []

    def __call__(self, keys: Sequence[str], as_of: date) -> list[ComputedLevels]:
        self.calls.append(len(keys))
        out = []
        for key in keys:
            if key.startswith("BROKEN"):
                out.append(ComputedLevels(key, None, "lead-time σ exceeds the lead time"))
                continue
            policy = ThresholdPolicy(lead_time_days=7, window_days=28)
            out.append(ComputedLevels(key, compute_levels(policy, self.sales[key], as_of)))
        return out


def levels(t2: int) -> TierLevels:
    return TierLevels(t2 + 10, t2, 1, basis=Basis("reorder_point"))


def test_a_jump_beyond_the_factor_needs_review_either_way() -> None:
    assert review_reason(levels(100), levels(299), 3.0) is None
    assert review_reason(levels(100), levels(301), 3.0) is not None
    assert "T2 would change from 100 to 30" in (review_reason(levels(100), levels(30), 3.0) or "")
    assert review_reason(levels(100), TierLevels.off(), 3.0) is None  # switching off is by hand


def test_recompute_writes_versions_only_when_levels_change(
    sqlite_engine: Engine, t0: datetime
) -> None:
    store = SqlThresholdStore(sqlite_engine)
    sales = {f"NEON-{i}": [5, 6, 4, 5] * 7 for i in range(5)} | {"BROKEN-BIKE": []}
    computer = ReferenceComputer(sales)
    keys = sorted(sales)
    done: list[int] = []
    first = recompute(keys, AS_OF, computer, store, t0, chunk=2, progress=done.append)
    assert (first.computed, first.activated, first.flagged, first.unchanged) == (6, 5, 0, 0)
    assert first.errors == [("BROKEN-BIKE", "lead-time σ exceeds the lead time")]
    assert computer.calls == [2, 2, 2] and sum(done) == 6
    again = recompute(keys, AS_OF, computer, store, t0 + timedelta(days=7))
    assert (again.written, again.unchanged) == (0, 5)
    # demand triples for one item, grows a bit for another
    sales["NEON-0"] = [60, 55, 65, 60] * 7
    sales["NEON-1"] = [6, 7, 5, 6] * 7
    third = recompute(keys, AS_OF, computer, store, t0 + timedelta(days=14), review_factor=3.0)
    assert (third.activated, third.flagged, third.unchanged) == (1, 1, 3)
    pending = store.in_review()
    assert [p.key for p in pending] == ["NEON-0"]
    assert "review factor 3" in (pending[0].review_reason or "")
    now = store.current(["NEON-0", "NEON-1"])
    assert now["NEON-0"].active is not None and now["NEON-0"].active.version == 1
    assert now["NEON-1"].active is not None and now["NEON-1"].active.version == 2
    # the same jump computed again stays one pending version, not a new one each time
    fourth = recompute(keys, AS_OF, computer, store, t0 + timedelta(days=21))
    assert fourth.written == 0 and len(store.versions("NEON-0")) == 2


def test_a_review_factor_of_one_or_less_is_refused(sqlite_engine: Engine, t0: datetime) -> None:
    with pytest.raises(ValueError, match="review_factor"):
        recompute(
            [], AS_OF, ReferenceComputer({}), SqlThresholdStore(sqlite_engine), t0, review_factor=1
        )


def test_decide_skips_levels_that_already_wait_for_review(t0: datetime) -> None:
    from stockwatch.ports import CurrentThresholds

    active = StoredThreshold("K", 1, t0, ThresholdStatus.ACTIVE, levels(10))
    pending = StoredThreshold("K", 2, t0, ThresholdStatus.REVIEW, levels(100), "jump")
    current = CurrentThresholds(active, pending, 2)
    assert decide("K", levels(100), current, 3.0) is None
    assert decide("K", levels(10), current, 3.0) is None
    row = decide("K", levels(12), current, 3.0)
    assert row is not None and row.status is ThresholdStatus.ACTIVE
    first = decide("K", levels(12), None, 3.0)
    assert first is not None and first.status is ThresholdStatus.ACTIVE


def test_describe_change_says_what_moved_and_why(t0: datetime) -> None:
    old_basis = Basis("reorder_point", inputs=(("d", 20.0), ("sd", 6.0)), notes=("calm",))
    new_basis = Basis(
        "reorder_point",
        inputs=(("d", 50.0), ("sd", 6.0)),
        notes=("promotion '双12': demand × 2.5",),
    )
    old = StoredThreshold(
        "K", 1, t0, ThresholdStatus.SUPERSEDED, TierLevels(251, 211, 71, basis=old_basis)
    )
    new = StoredThreshold(
        "K", 2, t0, ThresholdStatus.REVIEW, TierLevels(627, 527, 177, basis=new_basis), "T2 ×2.5"
    )
    lines = describe_change(old, new)
    assert "T2: 211 → 527" in lines and "T3: 71 → 177" in lines
    assert "d: 20 → 50 (+150%)" in lines
    assert not any(line.startswith("sd") for line in lines)
    assert "because: promotion '双12': demand × 2.5" in lines
    assert "no longer: calm" in lines
    assert lines[-1] == "waiting for review: T2 ×2.5"
    assert describe_change(None, new)[0] == "first computed version"
    assert "原因：promotion '双12': demand × 2.5" in describe_change(old, new, "zh-CN")
