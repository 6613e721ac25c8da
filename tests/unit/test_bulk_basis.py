"""The basis columns of the bulk path read back as the basis ``levels_list`` gives each item."""

from __future__ import annotations

import json
from datetime import date

import numpy as np

from stockwatch.adapters.db.codec import basis_from_numbers, compact_basis
from stockwatch.bulk.basis import needs_json, notes_json, numbers_matrix, packed
from stockwatch.bulk.levels import compute_bulk
from stockwatch.core.leadtime import blend
from stockwatch.core.thresholds import Promotion, ThresholdPolicy

AS_OF = date(2026, 11, 24)


def varied(n: int = 3000, seed: int = 3) -> tuple[np.ndarray, list[ThresholdPolicy], np.ndarray]:
    """Histories that give every kind of note: new, intermittent, few selling days, floors."""
    rng = np.random.default_rng(seed)
    rate = np.where(rng.random(n) < 0.4, rng.uniform(0.02, 0.6, n), rng.uniform(0.5, 30, n))
    sales = rng.poisson(rate[:, None], (n, 90)).astype(np.int32)
    young = rng.random(n) < 0.1
    sales[young, : -int(rng.integers(1, 13))] = 0  # new items: under 14 days of history
    policies = [
        ThresholdPolicy(lead_time_days=7, lead_time_sd_days=2),
        ThresholdPolicy(service_level=0.99, strategy="days_of_cover", lead_time_days=0),
        ThresholdPolicy(intermittent_method="empirical", t3_floor=4, buffer_days=2),
    ]
    return sales, policies, rng.integers(0, len(policies), n)


def test_numbers_and_notes_read_back_as_each_items_basis() -> None:
    sales, policies, index = varied()
    n = len(sales)
    lead = np.array([p.lead_time_days for p in policies])[index].astype(np.float64)
    lead_sd = np.array([p.lead_time_sd_days for p in policies])[index].astype(np.float64)
    promo = [Promotion("双12", AS_OF, AS_OF, 2.0, target="threshold", skus=frozenset({"-"}))]
    level_promo = np.where(np.arange(n) % 17 == 0, 0, -1)
    b = compute_bulk(sales, policies, index, lead, lead_sd, promo, None, level_promo)
    rows = np.flatnonzero(~b.error & ~b.disabled)
    numbers = packed(numbers_matrix(b, rows))
    notes = notes_json(b, rows)
    assert not needs_json(b, rows).any()
    kinds = set()
    for j, i in enumerate(rows.tolist()):
        want = b.levels(i).basis
        got = basis_from_numbers(want.strategy, numbers[j], notes[j])
        assert repr(got) == repr(want), i  # repr: NaN equals NaN
        assert compact_basis(want) == (numbers[j], notes[j])  # the per-item encoder agrees
        kinds |= {note.split(" ")[0] for note in want.notes}
    # the grouped wording was exercised on every kind of note, not only on plain items
    assert {"new", "intermittent", "only", "promotion", "T3"} <= kinds


def test_a_learned_lead_time_keeps_the_whole_basis() -> None:
    sales = np.full((2, 90), 3, dtype=np.int32)
    policy = ThresholdPolicy(lead_time_days=5, lead_time_sd_days=1)
    learned = blend([4.0, 9.0, 5.0, 12.0], 5.0, 1.0, "item")
    b = compute_bulk(
        sales,
        [policy],
        np.zeros(2, np.int64),
        np.full(2, 5.0),
        np.full(2, 1.0),
        learned=[learned, None],
    )
    assert needs_json(b, np.arange(2)).tolist() == [True, False]
    assert compact_basis(b.levels(0).basis) is None  # more inputs than the compact form has


def test_a_fill_rate_target_keeps_the_whole_basis() -> None:
    """β and the item's own Q are inputs the 16 numbers cannot hold, and its note names that Q:
    such rows keep the JSON basis; the others still read back as their basis."""
    sales, policies, _ = varied()
    policies = [*policies, ThresholdPolicy(lead_time_days=5, fill_rate=0.98)]
    n = len(sales)
    index = np.arange(n) % len(policies)
    lead = np.array([p.lead_time_days for p in policies])[index].astype(np.float64)
    lead_sd = np.array([p.lead_time_sd_days for p in policies])[index].astype(np.float64)
    b = compute_bulk(sales, policies, index, lead, lead_sd, [], None, np.full(n, -1))
    rows = np.flatnonzero(~b.error & ~b.disabled)
    whole = needs_json(b, rows)
    assert not whole[index[rows] != 3].any() and whole.sum() > 300  # the fill-rate items
    numbers = packed(numbers_matrix(b, rows))
    notes = notes_json(b, rows)
    for j, i in enumerate(rows.tolist()):
        want = b.levels(i).basis
        if whole[j]:
            assert compact_basis(want) is None  # the per-item encoder keeps it whole too
            continue
        got = basis_from_numbers(want.strategy, numbers[j], notes[j])
        assert repr(got) == repr(want), i


def test_notes_worded_in_one_chunk_serve_another_with_its_own_policy_order() -> None:
    """The cache across chunks keys a group by the policy and promotion themselves: a chunk
    whose policy list is in another order (so the same index is another policy) still gets
    each item's own notes."""
    sales, _, index = varied()
    policies = [  # the first two word the same groups differently (the new-item rate)
        ThresholdPolicy(lead_time_days=7, lead_time_sd_days=2, new_item_daily_sales=0.5),
        ThresholdPolicy(lead_time_days=7, lead_time_sd_days=2, new_item_daily_sales=3.0),
        ThresholdPolicy(intermittent_method="empirical", t3_floor=4, buffer_days=2),
    ]
    promo = [Promotion("双12", AS_OF, AS_OF, 2.0, target="threshold", skus=frozenset({"-"}))]
    n = len(sales)
    level_promo = np.where(np.arange(n) % 17 == 0, 0, -1)
    cache: dict[tuple[int, object, object], str | None] = {}
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        listed = [policies[k] for k in order]
        where = np.argsort(order)[index]  # the same policy per item, at its index in ``listed``
        lead = np.array([p.lead_time_days for p in listed])[where].astype(np.float64)
        lead_sd = np.array([p.lead_time_sd_days for p in listed])[where].astype(np.float64)
        b = compute_bulk(sales, listed, where, lead, lead_sd, promo, None, level_promo)
        rows = np.flatnonzero(~b.error & ~b.disabled)
        got = notes_json(b, rows, cache)
        assert got == notes_json(b, rows)  # the uncached wording
        for j, i in enumerate(rows.tolist()):
            notes = b.levels(i).basis.notes
            assert got[j] == (json.dumps(list(notes), ensure_ascii=False) if notes else None)
    assert cache  # filled by the first chunk, read by the others
