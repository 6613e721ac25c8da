"""SqlThresholdStore on SQLite and PostgreSQL: versions, statuses, review queue."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from stockwatch.adapters.db.threshold_store import SqlThresholdStore, last_computed_at
from stockwatch.core.model import Basis, Step, TierLevels
from stockwatch.ports import NewThreshold, ThresholdStatus

ACTIVE, REVIEW, OLD = ThresholdStatus.ACTIVE, ThresholdStatus.REVIEW, ThresholdStatus.SUPERSEDED


def lv(t1: int, t2: int, t3: int, note: str = "") -> TierLevels:
    basis = Basis(
        "reorder_point",
        inputs=(("d", 20.0), ("sd", 6.0), ("L", 7.0)),
        steps=(Step("SS", "Z·σ·√L", 70.79),),
        notes=(note,) if note else (),
    )
    return TierLevels(t1, t2, t3, velocity=20.0, basis=basis)


def test_it_numbers_versions_and_keeps_one_active(engine: Engine, t0: datetime) -> None:
    store = SqlThresholdStore(engine)
    store.save([NewThreshold("DISCO-BALL", lv(251, 211, 71), ACTIVE)], t0)
    store.save([NewThreshold("DISCO-BALL", lv(260, 220, 75), ACTIVE)], t0 + timedelta(days=7))
    versions = store.versions("DISCO-BALL")
    assert [(v.version, v.status) for v in versions] == [(2, ACTIVE), (1, OLD)]
    assert versions[0].levels.t2 == 220 and versions[0].levels.basis.steps[0].value == 70.79
    assert versions[0].computed_at == t0 + timedelta(days=7)
    assert last_computed_at(engine) == t0 + timedelta(days=7)
    current = store.current(["DISCO-BALL", "NEVER-SEEN"])
    assert current["DISCO-BALL"].active is not None
    assert current["DISCO-BALL"].active.version == 2 and current["DISCO-BALL"].last_version == 2
    assert "NEVER-SEEN" not in current


def test_a_review_version_waits_and_the_active_one_stays(engine: Engine, t0: datetime) -> None:
    store = SqlThresholdStore(engine)
    store.save([NewThreshold("LAVA-LAMP", lv(30, 20, 5), ACTIVE)], t0)
    store.save([NewThreshold("LAVA-LAMP", lv(300, 200, 50), REVIEW, "T2 ×10")], t0)
    current = store.current(["LAVA-LAMP"])["LAVA-LAMP"]
    assert current.active is not None and current.active.levels.t2 == 20
    assert current.review is not None and current.review.review_reason == "T2 ×10"
    assert [p.key for p in store.in_review()] == ["LAVA-LAMP"]
    # a newer review replaces the pending one, the active one still stands
    store.save([NewThreshold("LAVA-LAMP", lv(310, 210, 50), REVIEW, "T2 ×10.5")], t0)
    assert [(v.version, v.status) for v in store.versions("LAVA-LAMP")] == [
        (3, REVIEW),
        (2, OLD),
        (1, ACTIVE),
    ]
    assert store.approve("LAVA-LAMP", 3)
    assert not store.approve("LAVA-LAMP", 3)  # no longer pending
    assert [(v.version, v.status) for v in store.versions("LAVA-LAMP")] == [
        (3, ACTIVE),
        (2, OLD),
        (1, OLD),
    ]
    assert store.in_review() == []


def test_rejecting_drops_the_pending_version(engine: Engine, t0: datetime) -> None:
    store = SqlThresholdStore(engine)
    store.save([NewThreshold("GLITTER-GLUE", lv(30, 20, 5), ACTIVE)], t0)
    store.save([NewThreshold("GLITTER-GLUE", lv(3, 2, 1), REVIEW, "T2 ÷10")], t0)
    assert store.reject("GLITTER-GLUE", 2)
    assert not store.reject("GLITTER-GLUE", 1)  # active, not pending
    current = store.current(["GLITTER-GLUE"])["GLITTER-GLUE"]
    assert current.review is None and current.active is not None and current.active.version == 1


def test_disabled_levels_and_many_keys_round_trip_in_bulk(engine: Engine, t0: datetime) -> None:
    store = SqlThresholdStore(engine)
    rows = [
        NewThreshold(f"BULK-BEAN-{i:04d}", lv(i + 3, i + 2, i + 1), ACTIVE) for i in range(1200)
    ]
    rows.append(NewThreshold("OLD-MUG", TierLevels.off(Basis("disabled")), ACTIVE))
    store.save(rows, t0)
    current = store.current([r.key for r in rows])  # more keys than one IN (...) batch
    assert len(current) == 1201
    got = current["BULK-BEAN-1199"].active
    assert got is not None and (got.levels.t1, got.levels.t3) == (1202, 1200)
    old_mug = current["OLD-MUG"].active
    assert old_mug is not None and old_mug.levels.disabled
