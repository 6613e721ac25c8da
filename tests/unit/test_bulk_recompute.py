"""The columnar recompute decides exactly what ``service.recompute.decide`` decides, per item."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from stockwatch.adapters.db.codec import levels_from_row
from stockwatch.adapters.db.tables import metadata, thresholds
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.adapters.files import daily_series, read_items, read_sales
from stockwatch.bulk.computer import BulkLevelsComputer
from stockwatch.bulk.recompute import (
    LevelColumns,
    _Codes,
    _positions,
    _stored,
    decide_columns,
    recompute_bulk,
)
from stockwatch.config.settings import load_config
from stockwatch.core.model import Basis, Item, ItemKey, TierLevels
from stockwatch.entrypoints.cli.app import sample_dir
from stockwatch.ports import (
    CurrentThresholds,
    LiveColumns,
    LiveRow,
    StoredThreshold,
    ThresholdStatus,
    VersionBatch,
)
from stockwatch.service.recompute import RecomputeReport, decide, recompute
from tests.conftest import pg_schema_engine, sqlite_engine_at

NOW = datetime(2026, 11, 24, tzinfo=UTC)
STRATEGIES = ("reorder_point", "default", "hand_set", "days_of_cover")


@st.composite
def levels(draw: st.DrawFn) -> TierLevels:
    if draw(st.integers(0, 6)) == 0:
        return TierLevels.off(Basis("disabled"))
    t3 = draw(st.integers(0, 40))
    t2 = t3 + draw(st.integers(0, 3)) * draw(st.sampled_from([1, 10, 100]))
    t1 = t2 + draw(st.integers(0, 3))
    strategy = draw(st.sampled_from(STRATEGIES))
    if t3 == 0:  # T3 = 0 is only ever a disabled item
        return TierLevels.off(Basis("disabled"))
    return TierLevels(t1, t2, t3, 1.0, Basis(strategy))


def version(key: str, number: int, status: ThresholdStatus, lv: TierLevels) -> StoredThreshold:
    return StoredThreshold(key, number, NOW, status, lv)


case = st.tuples(
    st.one_of(st.none(), levels()),  # the active version
    st.one_of(st.none(), levels()),  # the pending one
    levels(),  # freshly computed
)


@settings(max_examples=300, deadline=None)
@given(st.lists(case, min_size=1, max_size=30), st.sampled_from([1.5, 3.0, 10.0]))
def test_every_row_is_decided_as_the_per_item_rule_decides(
    cases: list[tuple[TierLevels | None, TierLevels | None, TierLevels]], factor: float
) -> None:
    keys = [f"K{i}" for i in range(len(cases))]
    live = []
    for key, (active, review, _) in zip(keys, cases, strict=True):
        for number, status, lv in ((1, "active", active), (2, "review", review)):
            if lv is not None:
                live.append((key, status, number, lv.t1, lv.t2, lv.t3, lv.basis.strategy))
    codes = _Codes()
    stored = _stored(keys, live, codes)
    new = [c[2] for c in cases]
    got = decide_columns(
        np.array([(lv.t1, lv.t2, lv.t3) for lv in new], np.int64),
        np.array([lv.disabled for lv in new], np.bool_),
        np.array([codes.code(lv.basis.strategy) for lv in new], np.int64),
        stored,
        codes.code("hand_set"),
        factor,
    )
    for i, (key, (active, review, fresh)) in enumerate(zip(keys, cases, strict=True)):
        current = None
        if active is not None or review is not None:
            current = CurrentThresholds(
                version(key, 1, ThresholdStatus.ACTIVE, active) if active else None,
                version(key, 2, ThresholdStatus.REVIEW, review) if review else None,
                2,
            )
        want = decide(key, fresh, current, factor)
        assert bool(got.write[i]) == (want is not None), (active, review, fresh)
        assert bool(got.unchanged[i]) == (want is None)
        assert bool(got.review[i]) == (want is not None and want.status is ThresholdStatus.REVIEW)


def test_of_two_active_versions_the_newer_one_counts() -> None:
    codes = _Codes()
    rows = [
        ("K", "active", 5, 30, 20, 10, "reorder_point"),
        ("K", "active", 3, 9, 8, 7, "reorder_point"),
    ]
    stored = _stored(["K"], rows, codes)
    assert stored.a.tolist() == [[30, 20, 10]]


def _stored_by_dict(
    keys: list[str], rows: list[tuple[str, str, int, int, int, int, str]]
) -> dict[str, dict[str, tuple[int, int, int, str]]]:
    """What ``_stored`` must find, the slow way: per key and status, the newest version's."""
    want: dict[str, dict[str, tuple[int, int, int, int, str]]] = {}
    for key, status, number, t1, t2, t3, strategy in rows:
        if key in keys:
            seen = want.setdefault(key, {}).get(status)
            if seen is None or number >= seen[0]:
                want[key][status] = (number, t1, t2, t3, strategy)
    return {k: {s: v[1:] for s, v in by.items()} for k, by in want.items()}


live_row = st.tuples(
    st.sampled_from(["A", "B", "C", "D", "E", "F", "Z"]),  # "Z": never among the keys asked
    st.sampled_from(["active", "review"]),
    st.integers(1, 5),
    st.integers(0, 50),
    st.integers(0, 50),
    st.integers(0, 50),
    st.sampled_from(STRATEGIES),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from("ABCDEF"), unique=True, min_size=1),
    st.lists(live_row, max_size=20),
    st.sampled_from(["sorted", "as drawn"]),
    st.sampled_from(["sorted", "as drawn", "keys first"]),
    st.booleans(),
)
def test_stored_levels_land_on_their_keys_whatever_the_order(
    keys: list[str],
    rows: list[tuple[str, str, int, int, int, int, str]],
    key_order: str,
    row_order: str,
    as_columns: bool,
) -> None:
    """``_stored`` matches rows to keys by a list comparison, a sorted search or a dict,
    depending on the orders; all three give what a dict per row gives, whether the store
    read the rows as tuples or as columns (LiveColumns: PostgreSQL's whole-catalogue read)."""
    keys = sorted(keys) if key_order == "sorted" else keys
    if row_order == "sorted":
        rows = sorted(rows)
    elif row_order == "keys first":  # a whole catalogue in key order, then the extra rows
        rows = [(k, "active", 1, 3, 2, 1, "fixed") for k in keys] + rows
    codes = _Codes()
    live = LiveColumns()
    live.add_rows(rows)
    assert list(live) == rows
    stored = _stored(keys, live if as_columns else rows, codes)
    names = {v: k for k, v in codes.items()}
    want = _stored_by_dict(keys, rows)
    for i, key in enumerate(keys):
        for status, has, lv, code in (
            ("active", stored.has_a, stored.a, stored.a_code),
            ("review", stored.has_r, stored.r, stored.r_code),
        ):
            found = want.get(key, {}).get(status)
            assert bool(has[i]) == (found is not None), (key, status)
            if found is not None:
                assert (*lv[i].tolist(), names[int(code[i])]) == found, (key, status)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 5_000),
    st.lists(st.integers(0, 5_000), max_size=30),
    st.lists(st.integers(0, 6_000), max_size=30),
    st.lists(st.integers(0, 6_000), max_size=30),
    st.sampled_from(["key order", "moved", "shuffled", "unsorted keys"]),
    st.randoms(use_true_random=False),
)
def test_rows_are_matched_to_their_keys_in_any_order(
    n: int,
    unstored: list[int],
    foreign: list[int],
    pending: list[int],
    order: str,
    rnd: object,
) -> None:
    """``_positions`` matches runs in key order by slice comparisons and looks up the rest; it
    gives the same answer as a dict lookup of every row: keys without rows, rows of keys not
    recomputed, a second status after the first, rows out of place, keys not in order."""
    import random

    assert isinstance(rnd, random.Random)
    keys = [f"SKU-{2 * i:05d}" for i in range(n)]  # even numbers: odd ones are not recomputed
    rows = set(range(0, 2 * n, 2)) - {2 * i for i in unstored}
    rows |= {2 * i + 1 for i in foreign}
    found = [f"SKU-{i:05d}" for i in sorted(rows)]  # a store's live rows, in key order
    if order == "moved" and found:  # a few rows elsewhere (inserted apart, written later)
        for _ in range(min(len(found), 30)):
            found.insert(rnd.randrange(len(found)), found.pop(rnd.randrange(len(found))))
    elif order == "shuffled":
        rnd.shuffle(found)
    elif order == "unsorted keys":
        rnd.shuffle(keys)
    found += [f"SKU-{i:05d}" for i in pending]  # the pending versions, after the active ones
    at = {k: i for i, k in enumerate(keys)}
    assert _positions(keys, found).tolist() == [at.get(k, -1) for k in found]


@contextmanager
def twin_of(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A second empty database of the same kind."""
    if engine.dialect.name == "postgresql":
        with pg_schema_engine() as other:
            yield other
        return
    other = sqlite_engine_at(tmp_path / "twin.sqlite3")
    metadata.create_all(other)
    yield other
    other.dispose()


def shop(moved: bool) -> tuple[BulkLevelsComputer, list[str]]:
    """The sample shop plus 400 synthetic items; ``moved``: a tenth sell much more lately."""
    sample = sample_dir()
    cfg = load_config(sample / "stockwatch.toml")
    items = {i.key: i for i in read_items(sample / "items.csv").rows}
    for i in range(400):
        items[ItemKey(f"GEN-{i:03d}")] = Item(f"GEN-{i:03d}", lead_time_days=float(2 + i % 9))
    as_of = date(2026, 12, 8)  # during the sample's promotions
    series = daily_series(read_sales(sample / "sales.csv").rows, as_of, 90)
    rng = np.random.default_rng(5)
    rates = np.where(rng.random(400) < 0.4, 0.2, rng.uniform(1, 30, 400))
    synthetic = rng.poisson(rates[:, None], (400, 90)).astype(np.int32)
    if moved:
        synthetic[::10, -7:] = synthetic[::10, -7:] * 4 + 9
    rows = {f"GEN-{i:03d}": synthetic[i] for i in range(400)}

    def history(skus: Sequence[str], end: date, days: int) -> np.ndarray:
        return np.array(
            [rows[s][-days:] if s in rows else series.get(s, [0] * 90)[-days:] for s in skus],
            dtype=np.int32,
        )

    return BulkLevelsComputer(cfg, items, history), sorted(str(k) for k in items)


def stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(thresholds).order_by(thresholds.c.item_key, thresholds.c.version)
        )
        return [
            repr((r.item_key, r.version, r.status, r.review_reason, levels_from_row(r)))
            for r in rows
        ]


@pytest.mark.parametrize(
    ("write_ahead", "read_ahead"), [(False, False), (False, True), (True, False)]
)
def test_the_bulk_path_stores_what_the_per_item_path_stores(
    engine: Engine, tmp_path: Path, write_ahead: bool, read_ahead: bool
) -> None:
    as_of = date(2026, 12, 8)
    with twin_of(engine, tmp_path) as per_item:
        bulk_store, item_store = SqlThresholdStore(engine), SqlThresholdStore(per_item)
        for moved, when in ((False, NOW), (True, NOW + timedelta(days=7))):
            computer, keys = shop(moved)
            got = recompute_bulk(
                keys,
                as_of,
                computer,
                bulk_store,
                when,
                chunk=150,
                write_ahead=write_ahead,
                read_ahead=read_ahead,
            )
            want = recompute(keys, as_of, computer, item_store, when, chunk=150)
            assert got == want
            assert stored(engine) == stored(per_item)
        # the second run wrote only the items whose levels moved (some of them wait for review)
        assert 0 < got.written < len(keys) / 5 and got.flagged > 0
        assert got.unchanged == len(keys) - got.written - len(got.errors)


def test_live_rows_of_keys_outside_the_batch_are_ignored() -> None:
    stored = _stored(["A"], [("B", "active", 1, 3, 2, 1, "fixed")], _Codes())
    assert not stored.has_a.any() and not stored.has_r.any()


class _Recording:
    """A store whose writes are recorded, the ``fail``-th one failing. ``busy`` counts the
    writes in flight; with ``overlap`` write k waits until chunk k+1 is being computed (the
    computer calls ``computing``): it fails (times out) unless the two run at once."""

    def __init__(self, chunks: int, fail: int | None = None, overlap: bool = False) -> None:
        self.chunks, self.fail, self.overlap = chunks, fail, overlap
        self.busy = self.most = self.started = self.computed = 0
        self.lock = threading.Condition()
        self.written: list[list[str]] = []
        self.events: list[str] = []

    def computing(self) -> None:
        with self.lock:
            self.computed += 1
            self.lock.notify_all()

    def has_versions(self, keys: Sequence[str]) -> bool:
        return False

    def live_levels(self, keys: Sequence[str]) -> list[LiveRow]:
        return []

    def write_versions(self, batch: VersionBatch, computed_at: datetime) -> None:
        with self.lock:
            self.busy += 1
            self.most = max(self.most, self.busy)
            k, self.started = self.started, self.started + 1
            if self.overlap:
                want = min(k + 2, self.chunks)
                assert self.lock.wait_for(lambda: self.computed >= want, timeout=10)
        try:
            if k == self.fail:
                raise RuntimeError("write failed")
            self.written.append(list(batch.keys))
            self.events.append(f"commit {batch.keys[0]}")
        finally:
            with self.lock:
                self.busy -= 1


class _Announcing:
    def __init__(self, computer: BulkLevelsComputer, store: _Recording) -> None:
        self.computer, self.store = computer, store

    def columns(self, keys: Sequence[str], as_of: date) -> LevelColumns:
        self.store.computing()
        return self.computer.columns(keys, as_of)


def _recompute_gen_items(store: _Recording, **options: Any) -> tuple[RecomputeReport, list[str]]:
    """Recompute the 400 generated items of the sample shop in chunks of 100 into ``store``."""
    computer, keys = shop(False)
    keys = [k for k in keys if k.startswith("GEN-")]  # no errors: every item is written
    report = recompute_bulk(
        keys, date(2026, 12, 8), _Announcing(computer, store), store, NOW, chunk=100, **options
    )
    return report, keys


@pytest.mark.parametrize("write_ahead", [False, True])
def test_chunks_commit_in_order_one_at_a_time_and_a_failed_write_stops_the_rest(
    write_ahead: bool,
) -> None:
    whole = _Recording(4, overlap=write_ahead)
    report, keys = _recompute_gen_items(
        whole,
        write_ahead=write_ahead,
        progress=lambda n: whole.events.append(f"progress {n}"),
    )
    assert whole.written == [keys[lo : lo + 100] for lo in range(0, 400, 100)]
    assert report.written == 400 and whole.most == 1
    # progress hears of a chunk once its write has committed, in order
    assert whole.events == [e for k in keys[::100] for e in (f"commit {k}", "progress 100")]
    failing = _Recording(4, fail=1, overlap=write_ahead)
    events: list[int] = []
    with pytest.raises(RuntimeError, match="write failed"):
        _recompute_gen_items(failing, write_ahead=write_ahead, progress=events.append)
    # chunk 0 committed, chunk 1 failed whole, and nothing after it was written
    assert failing.written == [keys[:100]] and failing.started == 2 and events == [100]


class _SlowRead(_Recording):
    """A store whose read of the stored levels lasts until the third chunk is computed."""

    def live_levels(self, keys: Sequence[str]) -> list[LiveRow]:
        with self.lock:
            assert self.lock.wait_for(lambda: self.computed >= 3, timeout=10)
        return []


@pytest.mark.parametrize("write_ahead", [False, True])
def test_chunks_are_computed_while_the_stored_levels_are_read(write_ahead: bool) -> None:
    """With the read on a second thread, the chunks after the first are computed while it
    lasts (not waited for after chunk 0), then decided and written in order."""
    store = _SlowRead(4)
    report, keys = _recompute_gen_items(store, write_ahead=write_ahead, read_ahead=True)
    assert store.written == [keys[lo : lo + 100] for lo in range(0, 400, 100)]
    assert report.written == 400 and report.computed == 400


class _FailingThird(_Announcing):
    def columns(self, keys: Sequence[str], as_of: date) -> LevelColumns:
        got = super().columns(keys, as_of)
        if self.store.computed == 3:
            raise RuntimeError("chunk 2 cannot be computed")
        return got


def test_a_failed_chunk_keeps_the_chunks_computed_before_it() -> None:
    """Chunks computed ahead while the stored levels are read are still written when a later
    chunk fails, as they are when each is written in turn; the failure is raised."""
    computer, keys = shop(False)
    keys = [k for k in keys if k.startswith("GEN-")]
    store = _SlowRead(4)
    with pytest.raises(RuntimeError, match="chunk 2 cannot"):
        recompute_bulk(
            keys,
            date(2026, 12, 8),
            _FailingThird(computer, store),
            store,
            NOW,
            chunk=100,
            read_ahead=True,
        )
    assert store.written == [keys[:100], keys[100:200]]


class _FailingRead(_Recording):
    def live_levels(self, keys: Sequence[str]) -> list[LiveRow]:
        raise RuntimeError("the stored levels cannot be read")


def test_a_failed_read_is_raised_even_with_no_keys() -> None:
    store = _FailingRead(0)
    with pytest.raises(RuntimeError, match="cannot be read"):
        recompute_bulk(
            [], date(2026, 12, 8), _Announcing(shop(False)[0], store), store, NOW, read_ahead=True
        )
