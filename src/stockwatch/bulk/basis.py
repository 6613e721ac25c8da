"""The basis of bulk-computed levels as columns, worded only where it is written.

``BulkLevels.levels_list`` builds a Basis object per item, and the notes of each item by hand:
~29 s of CPU for a million items, three quarters of which have a note. A recompute needs the
basis only of the items it writes, and stores it compactly (adapters/db/codec): the numbers as
16 float64 and the notes as JSON text. Here the numbers are one array operation, and notes are
worded once per distinct set of the values they depend on (a few thousand sets per million
items), except for the rows whose notes depend on more (dates, promotions, learned lead times,
clamps), which are worded one by one as before.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from stockwatch.bulk.levels import BulkLevels
from stockwatch.core.model import COMPUTED_INPUTS, RAW_STEPS, SS_STEPS
from stockwatch.core.thresholds import z_for

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

NUMBER_COLUMNS = len(COMPUTED_INPUTS) + len(SS_STEPS) + len(RAW_STEPS)

# Bit widths of the values notes depend on, packed into one int64 group key (55 bits).
_FIELDS = (
    ("policy", 10),
    ("lead_zero", 1),
    ("history_days", 12),
    ("new_item", 1),
    ("recent", 6),
    ("intermittent", 1),
    ("selling_days", 12),
    ("quantile", 1),
    ("level_promo", 10),
    ("t3_floored", 1),
)


def numbers_matrix(b: BulkLevels, rows: I64) -> F64:
    """The compact basis numbers of ``rows`` (K, 16), in codec.NUMBERS order; non-finite → NaN
    (as the JSON form read them back); SS is NaN where the strategy has none."""
    service = np.array([p.service_level for p in b.policies], dtype=np.float64)
    zs = np.array([z_for(a) for a in service.tolist()], dtype=np.float64)
    pi = b.policy_index[rows]
    out = np.column_stack(
        (
            b.rate[rows],
            b.sd[rows],
            b.lead[rows],
            b.lead_sd[rows],
            b.review[rows],
            service[pi],
            zs[pi],
            b.k[rows],
            b.history_days[rows].astype(np.float64),
            b.velocity7[rows],
            b.order_rate[rows],
            b.ss[rows],
            b.rop[rows],
            b.raw[rows],
        )
    ).astype("<f8")
    out[~np.isfinite(out)] = math.nan
    return np.ascontiguousarray(out)


def packed(matrix: F64) -> list[bytes]:
    """Each row of ``matrix`` as its little-endian bytes (codec.NUMBERS), without a loop."""
    width = matrix.shape[1] * 8
    flat: list[bytes] = matrix.view(f"V{width}").ravel().tolist()
    return flat


def needs_json(b: BulkLevels, rows: I64) -> Bool:
    """Rows whose basis the compact form cannot hold: learned lead times and a fill-rate target
    (β, Q) add inputs, and an infinite SS is a step the numbers would drop."""
    learned = (
        np.array([b.learned[i] is not None for i in rows.tolist()], dtype=np.bool_)
        if b.learned
        else np.zeros(len(rows), dtype=np.bool_)
    )
    ss = b.ss[rows]
    fill_rate = ~np.isnan(b.fill_qty[rows])
    return learned | fill_rate | np.isinf(ss)


# Where each field sits in the group key (bits above it), for the cross-chunk cache's key.
_SHIFT = {name: sum(bits for _, bits in _FIELDS[i + 1 :]) for i, (name, _) in enumerate(_FIELDS)}
_BITS = dict(_FIELDS)
_BY_OBJECT = ~sum(((1 << _BITS[f]) - 1) << _SHIFT[f] for f in ("policy", "level_promo"))
NotesCache = dict[tuple[int, int, int | None], "str | None"]  # (group, id(policy), id(promotion))


def notes_json(b: BulkLevels, rows: I64, cache: NotesCache | None = None) -> list[str | None]:
    """The notes of ``rows`` as codec stores them (a JSON list; None when there are none).

    ``cache`` (one dict across the chunks of a recompute) keeps each worded group by its values
    with the policy and the promotion themselves in place of their indexes (which are the
    chunk's own), so that a million items word each group once, not once per chunk."""
    out: list[str | None] = [None] * len(rows)
    noted = b.noted()[rows]
    if not noted.any():
        return out
    pol = b.policies
    pi = b.policy_index[rows]
    review_days = np.array([p.review_days for p in pol], dtype=np.float64)[pi]
    values = {
        "policy": pi,
        "lead_zero": (b.lead[rows] + review_days == 0).astype(np.int64),
        "history_days": b.history_days[rows],
        "new_item": b.new_item[rows].astype(np.int64),
        "recent": b.recent_selling_days[rows],
        "intermittent": b.intermittent[rows].astype(np.int64),
        "selling_days": b.selling_days[rows],
        "quantile": (b.lead_demand[rows] >= 0).astype(np.int64),
        "level_promo": b.level_promo[rows] + 1,
        "t3_floored": b.t3_floored[rows].astype(np.int64),
    }
    key = np.zeros(len(rows), dtype=np.int64)
    fits = np.ones(len(rows), dtype=np.bool_)
    for name, bits in _FIELDS:
        v = values[name].astype(np.int64)
        fits &= (v >= 0) & (v < (1 << bits))
        key = (key << bits) | (v & ((1 << bits) - 1))
    single = (
        ~fits
        | b.baseline_noted[rows]  # names the dropped days by date
        | np.array([b.uplifts[i] is not None for i in rows.tolist()], dtype=np.bool_)
        | (b.t2_before_clamp[rows] >= 0)
        | (b.t1_before_clamp[rows] >= 0)
        | ~np.isnan(b.fill_qty[rows])  # names the item's own order quantity
    )
    if b.learned:
        single |= np.array([b.learned[i] is not None for i in rows.tolist()], dtype=np.bool_)
    grouped = np.flatnonzero(noted & ~single)
    if len(grouped):
        groups, first, inverse = np.unique(key[grouped], return_index=True, return_inverse=True)
        texts = _worded(b, rows[grouped[first]], groups, cache)
        worded: Any = np.array(texts, dtype=object)[inverse]
        for pos, text in zip(grouped.tolist(), worded.tolist(), strict=True):
            out[pos] = text
        del groups
    for pos in np.flatnonzero(noted & single).tolist():
        out[pos] = _text(b, int(rows[pos]))
    return out


def _worded(b: BulkLevels, rows: I64, groups: I64, cache: NotesCache | None) -> list[str | None]:
    """The notes of one row per group (``rows``), from ``cache`` where worded before."""
    if cache is None:
        return [_text(b, i) for i in rows.tolist()]
    out: list[str | None] = []
    promotions = b.promotions
    # The policy and the promotion by identity: the same objects serve every chunk of a
    # recompute (the cache's lifetime), and hashing a policy's fields each time cost more.
    for i, group in zip(rows.tolist(), (groups & _BY_OBJECT).tolist(), strict=True):
        promo = int(b.level_promo[i])
        key = (
            group,
            id(b.policies[int(b.policy_index[i])]),
            id(promotions[promo]) if promo >= 0 else None,
        )
        if key in cache:
            out.append(cache[key])
        else:
            out.append(cache.setdefault(key, _text(b, i)))
    return out


def _text(b: BulkLevels, i: int) -> str | None:
    notes = b.notes(i)
    return json.dumps(notes, ensure_ascii=False) if notes else None
