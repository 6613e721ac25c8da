"""SqlThresholdStore on SQLite and PostgreSQL: versions, statuses, review queue."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, text

from stockwatch.adapters.db.tables import status_is, thresholds
from stockwatch.adapters.db.threshold_store import SqlThresholdStore, last_computed_at
from stockwatch.core.model import COMPUTED_INPUTS, Basis, Step, TierLevels
from stockwatch.ports import NewThreshold, ThresholdStatus, VersionBatch

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


def computed(
    t3: int, notes: tuple[str, ...] = (), extra: tuple[tuple[str, float], ...] = ()
) -> TierLevels:
    """Levels with the basis every computation gives (core.model.COMPUTED_INPUTS)."""
    inputs = tuple((name, 1.5 + i) for i, name in enumerate(COMPUTED_INPUTS)) + extra
    steps = (
        Step("SS", "safety stock", 12.25),
        Step("ROP", "reorder point", 40.5),
        Step("T1 raw", "before rounding", t3 + 20.1),
        Step("T2 raw", "before rounding", t3 + 10.1),
        Step("T3 raw", "before rounding", t3 - 0.9),
    )
    return TierLevels(t3 + 21, t3 + 11, t3, 3.5, Basis("reorder_point", inputs, steps, notes))


def test_a_computed_basis_is_stored_as_numbers_and_reads_back_whole(
    engine: Engine, t0: datetime
) -> None:
    store = SqlThresholdStore(engine)
    plain = computed(9)
    noted = computed(5, ("new item: 3 days of history < 14; 新品规则",))
    learned = computed(7, extra=(("learned_orders", 21.0),))  # learned lead times add inputs
    store.save(
        [
            NewThreshold("PLAIN-PEN", plain, ACTIVE),
            NewThreshold("NOTED-PEN", noted, ACTIVE),
            NewThreshold("LEARNED-PEN", learned, ACTIVE),
        ],
        t0,
    )
    with engine.connect() as conn:
        rows = {
            r.item_key: r
            for r in conn.execute(
                text("SELECT item_key, basis, numbers, notes FROM thresholds ORDER BY item_key")
            )
        }
    assert rows["PLAIN-PEN"].basis is None and len(rows["PLAIN-PEN"].numbers) == 16 * 8
    assert rows["PLAIN-PEN"].notes is None
    assert "新品规则" in rows["NOTED-PEN"].notes
    assert rows["LEARNED-PEN"].basis is not None and rows["LEARNED-PEN"].numbers is None
    for key, want in (("PLAIN-PEN", plain), ("NOTED-PEN", noted), ("LEARNED-PEN", learned)):
        assert store.versions(key)[0].levels == want


def test_a_bulk_write_of_thousands_stores_every_row_as_given(engine: Engine, t0: datetime) -> None:
    """SQLite inserts up to 2,000 rows per statement: two full statements and a shorter last
    one here, every row where it belongs (PostgreSQL: one COPY)."""
    store = SqlThresholdStore(engine)
    keys = [f"BULK-{i:05d}" for i in range(4_321)]
    store.save([NewThreshold(k, computed(i + 1), ACTIVE) for i, k in enumerate(keys)], t0)
    current = store.current(keys)
    for i, key in enumerate(keys):
        got = current[key].active
        assert got is not None and got.version == 1, key
        assert (got.levels.t1, got.levels.t2, got.levels.t3) == (i + 22, i + 12, i + 1), key
        assert got.levels.basis == computed(i + 1).basis, key


def test_the_bulk_write_retires_what_it_replaces(engine: Engine, t0: datetime) -> None:
    store = SqlThresholdStore(engine)
    store.save([NewThreshold("FAN", computed(9), ACTIVE)], t0)
    store.save([NewThreshold("FAN", computed(90), REVIEW, "T2 ×8")], t0)
    store.save([NewThreshold("LAMP", computed(4), ACTIVE)], t0)
    live = sorted(store.live_levels(["FAN", "LAMP", "NONE"]))
    assert [(k, s, v) for k, s, v, *_ in live] == [
        ("FAN", "active", 1),
        ("FAN", "review", 2),
        ("LAMP", "active", 1),
    ]
    batch = VersionBatch(
        keys=["FAN", "LAMP"],
        status=["active", "active"],
        t1=[40, 30],
        t2=[30, 20],
        t3=[20, 10],
        velocity=[2.0, 1.0],
        strategy=["reorder_point", "default"],
        numbers=[None, None],
        notes=[None, '["x"]'],
        whole=[None, None],
        review_reason=[None, None],
        retire_active=["FAN", "LAMP"],
        retire_review=["FAN"],
    )
    store.write_versions(batch, t0)
    assert [(v.version, v.status) for v in store.versions("FAN")] == [
        (3, ACTIVE),
        (2, OLD),
        (1, OLD),
    ]
    assert [(v.version, v.status) for v in store.versions("LAMP")] == [(2, ACTIVE), (1, OLD)]
    assert store.versions("LAMP")[0].levels.basis == Basis("default", notes=("x",))
    assert store.has_versions(["NONE", "LAMP"]) and not store.has_versions(["NONE"])


def test_sqlite_finds_the_active_and_pending_versions_by_their_partial_indexes(
    sqlite_engine: Engine,
) -> None:
    queries = [
        select(thresholds).where(thresholds.c.item_key == "FAN", status_is("active")),
        select(thresholds).where(status_is("review")).order_by(thresholds.c.item_key),
    ]
    with sqlite_engine.connect() as conn:
        for query, index in zip(
            queries, ("ix_thresholds_active", "ix_thresholds_review"), strict=True
        ):
            sql = str(query.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert index in plan, plan


def test_a_whole_catalogue_reads_every_live_version_in_one_scan(
    engine: Engine, t0: datetime
) -> None:
    store = SqlThresholdStore(engine)
    store.save([NewThreshold("FAN", computed(9), ACTIVE)], t0)
    store.save([NewThreshold("FAN", computed(90), REVIEW, "T2 ×8")], t0)
    store.save([NewThreshold("LAMP", computed(4), ACTIVE)], t0 + timedelta(days=1))
    store.save([NewThreshold("LAMP", computed(5), ACTIVE)], t0 + timedelta(days=2))
    many = [f"K{i:06d}" for i in range(60_000)] + ["FAN"]  # more than one key batch
    live = sorted((k, s, v) for k, s, v, *_ in store.live_levels(many))
    assert live == [("FAN", "active", 1), ("FAN", "review", 2), ("LAMP", "active", 2)]
    assert sorted(store.live_levels(many)) == [
        ("FAN", "active", 1, 30, 20, 9, "reorder_point"),
        ("FAN", "review", 2, 111, 101, 90, "reorder_point"),
        ("LAMP", "active", 2, 26, 16, 5, "reorder_point"),
    ]
    # PostgreSQL reads a whole catalogue as newline-joined columns: a key holding a newline
    # (or a comma) must come back as itself
    odd = ["A\nB", "X,Y", ""]
    store.save([NewThreshold(k, lv(9, 6, 3), ACTIVE) for k in odd], t0)
    live = sorted((k, s, v) for k, s, v, *_ in store.live_levels([*many, *odd]))
    assert live[:4] == [
        ("", "active", 1),
        ("A\nB", "active", 1),
        ("FAN", "active", 1),
        ("FAN", "review", 2),
    ]
    assert ("X,Y", "active", 1) in live and len(live) == 6


def test_keys_with_separators_and_quotes_are_looked_up_exactly(
    engine: Engine, t0: datetime
) -> None:
    """PostgreSQL receives many keys as one newline-joined string; a key holding a newline
    (or what an array literal would quote) must still be found as itself, not split."""
    odd = ["A\nB", 'Q"Z', "B\\S", "{BR}", "X,Y", " sp "]
    store = SqlThresholdStore(engine)
    store.save([NewThreshold(k, lv(9, 6, 3), ACTIVE) for k in odd], t0)
    assert store.has_versions(["A\nB"]) and not store.has_versions(["A", "B"])
    assert store.has_versions(["X,Y", "NONE"]) and not store.has_versions(["X", "Y"])
    live = sorted(k for k, *_ in store.live_levels(["A", "B", *odd]))
    assert live == sorted(odd)
    store.save([NewThreshold(k, lv(19, 16, 13), ACTIVE) for k in odd], t0)
    for key in odd:
        assert [(v.version, v.status) for v in store.versions(key)] == [(2, ACTIVE), (1, OLD)]


def test_versions_follow_on_whether_or_not_a_batch_spans_stored_keys(
    engine: Engine, t0: datetime
) -> None:
    """A batch whose key range holds no version skips the per-key lookup (one probe); one that
    spans stored keys, or names them, still numbers from each key's newest version."""
    store = SqlThresholdStore(engine)
    store.save([NewThreshold("M", lv(9, 6, 3), ACTIVE)], t0)
    store.save([NewThreshold("M", lv(19, 16, 13), REVIEW, "x")], t0)
    assert store.reject("M", 2)  # M's newest version is superseded, not live
    store.save([NewThreshold(k, lv(9, 6, 3), ACTIVE) for k in ("N", "O")], t0)  # range N…O
    store.save([NewThreshold(k, lv(9, 6, 3), ACTIVE) for k in ("A", "Z")], t0)  # spans M
    for pair in (("L", "M"), ("N", "P")):  # a stored key at either end of the range
        store.save([NewThreshold(k, lv(29, 26, 23), ACTIVE) for k in pair], t0)
    got = {k: [(v.version, v.status) for v in store.versions(k)] for k in "ALMNOPZ"}
    assert got == {
        "A": [(1, ACTIVE)],
        "L": [(1, ACTIVE)],
        "M": [(3, ACTIVE), (2, OLD), (1, OLD)],
        "N": [(2, ACTIVE), (1, OLD)],
        "O": [(1, ACTIVE)],
        "P": [(1, ACTIVE)],
        "Z": [(1, ACTIVE)],
    }
