"""Recompute at scale: levels as arrays, compared with the stored ones in bulk, only the changed
items written (the path of ``thresholds recompute``, the daemon, promotions, imported orders
and ``backtest --apply``).

``service.recompute`` decides item by item on TierLevels objects; at a million items building
those objects (and their notes) alone took ~30 s of CPU. This module makes the same decisions
(``service.recompute.decide``, property-tested against it) on whole arrays: the stored active
and pending levels of a chunk are read in one query, compared column by column, and only the
rows to write get a basis (numbers and notes, ``bulk.basis``) and go to the store's bulk write
(COPY on PostgreSQL, one executemany on SQLite).
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import operator
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from stockwatch.bulk.basis import NotesCache, needs_json, notes_json, numbers_matrix, packed
from stockwatch.bulk.gcpause import paused_gc
from stockwatch.bulk.levels import STRATEGY_NAMES, BulkLevels
from stockwatch.core.model import TierLevels
from stockwatch.ports import (
    BulkThresholdStore,
    LiveColumns,
    LiveRow,
    ThresholdStatus,
    VersionBatch,
)
from stockwatch.service.recompute import (
    DEFAULT_CHUNK,
    DEFAULT_REVIEW_FACTOR,
    NoSalesHistory,
    RecomputeReport,
    review_message,
)

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

# Chunks computed ahead while the stored levels are still being read (50,000 items each: a
# chunk's arrays are ~15 MB).
READ_AHEAD_CHUNKS = 4
HAND_SET = "hand_set"  # service.recompute.decide: a level set by hand stays until cleared
DISABLED = "disabled"


@dataclass
class LevelColumns:
    """A chunk's computed levels: the bulk arrays plus the rows that have none and why."""

    keys: Sequence[str]
    bulk: BulkLevels
    errors: dict[int, str]  # row → why it has no levels (configuration or data)

    def ok(self) -> Bool:
        bad = np.zeros(len(self.keys), dtype=np.bool_)
        if self.errors:
            bad[list(self.errors)] = True
        return ~bad


class ColumnComputer(Protocol):
    def columns(self, keys: Sequence[str], as_of: date) -> LevelColumns: ...


@dataclass
class _Stored:
    """The stored active (a_…) and pending (r_…) levels of a chunk, row-aligned with its keys."""

    has_a: Bool
    a: I64  # (N, 3) t1, t2, t3
    a_code: I64  # strategy code, see _Codes
    has_r: Bool
    r: I64
    r_code: I64

    def rows(self, *which: Any) -> _Stored:
        """The rows ``which`` picks (a slice's bounds, or an index array)."""
        pick = slice(*which) if len(which) == 2 else which[0]
        return _Stored(
            self.has_a[pick],
            self.a[pick],
            self.a_code[pick],
            self.has_r[pick],
            self.r[pick],
            self.r_code[pick],
        )


class _Codes(dict[str, int]):
    """Strategy names as small integers, so that they compare as arrays."""

    def code(self, name: str) -> int:
        found = self.get(name)
        if found is None:
            found = self[name] = len(self)
        return found


def _positions(keys: Sequence[str], found: list[str]) -> I64:
    """The row of ``keys`` each of ``found`` is (-1: not among them).

    The stores read a whole catalogue's live rows in key order (the partial indexes' order),
    so ``found`` is mostly runs of ``keys`` itself: those are matched by comparing slices
    (C-level list comparisons, in blocks that double while they match), stepping one row at
    a time only where the two differ (a new item with no stored row, a stored row of a key not
    recomputed). Whatever does not line up (rows of other keys, a second status, a store's
    own order) is looked up apart: by bisection when few, else through a dict, which beat a
    sorted search of a NumPy string array on shuffled keys and costs no array as wide as the
    longest key."""
    n, m = len(keys), len(found)
    out = np.full(m, -1, np.int64)
    keys = keys if isinstance(keys, list) else list(keys)
    ordered = all(map(operator.lt, keys, itertools.islice(keys, 1, None)))
    stray: list[int] = []  # rows of found that did not line up
    i = j = 0
    if ordered:
        step, steps, budget = 1024, 0, 1024 + m // 64
        while i < m and j < n:
            b = min(step, m - i, n - j)
            if found[i : i + b] == keys[j : j + b]:
                out[i : i + b] = np.arange(j, j + b)
                i, j, step = i + b, j + b, min(2 * step, 1 << 16)
            elif b > 1:
                step = max(1, b // 8)
            else:
                steps += 1
                if steps > budget:  # not in key order after all: the rest by lookup
                    break
                if found[i] < keys[j]:  # not at or after j: looked up below
                    stray.append(i)
                    i += 1
                else:  # keys[j] has no row here
                    j += 1
                step = 8
    rest = stray + list(range(i, m))
    if not rest:
        return out
    if ordered and len(rest) * 32 < n:
        for r in rest:
            at = bisect.bisect_left(keys, found[r])
            if at < n and keys[at] == found[r]:
                out[r] = at
        return out
    pos = dict(zip(keys, range(n), strict=True))
    picked = [found[r] for r in rest]
    out[rest] = np.fromiter(map(pos.get, picked, itertools.repeat(-1)), np.int64, len(rest))
    return out


def _stored(keys: Sequence[str], rows: Iterable[LiveRow], codes: _Codes) -> _Stored:
    n = len(keys)
    out = _Stored(
        np.zeros(n, np.bool_),
        np.zeros((n, 3), np.int64),
        np.full(n, -1, np.int64),
        np.zeros(n, np.bool_),
        np.zeros((n, 3), np.int64),
        np.full(n, -1, np.int64),
    )
    if isinstance(rows, LiveColumns):  # read as columns: nothing to take apart
        key, status, version, t1, t2, t3, strategy = rows.columns()
        m = len(key)
    else:
        got = rows if isinstance(rows, list) else list(rows)
        m = len(got)
        # Column by column in C (itemgetter, fromiter): a million rows, no Python loop per row.
        key, status, version, t1, t2, t3, strategy = (
            list(map(itemgetter(i), got)) for i in range(7)
        )
    if not m:
        return out
    # Assigned in version order, so that of two (corrupt) active versions the newer wins; rows
    # of other keys (a store may return every live row) are left out.
    at = _positions(keys, key)
    order = np.argsort(np.fromiter(version, np.int64, m), kind="stable")
    order = order[at[order] >= 0]
    at = at[order]
    active = np.fromiter(map(ThresholdStatus.ACTIVE.value.__eq__, status), np.bool_, m)[order]
    levels = np.empty((m, 3), np.int64)
    for j, column in enumerate((t1, t2, t3)):
        levels[:, j] = np.fromiter(column, np.int64, m)
    levels = levels[order]
    named = {name: codes.code(name) for name in dict.fromkeys(strategy)}
    code = np.fromiter(map(named.__getitem__, strategy), np.int64, m)[order]
    for mask, has, lv, cd in (
        (active, out.has_a, out.a, out.a_code),
        (~active, out.has_r, out.r, out.r_code),
    ):
        idx = at[mask]
        has[idx] = True
        lv[idx] = levels[mask]
        cd[idx] = code[mask]
    return out


@dataclass
class Decision:
    """What to write for a chunk: ``write`` rows, and which of them wait for review."""

    write: Bool
    review: Bool
    unchanged: Bool


def decide_columns(
    levels: I64,
    disabled: Bool,
    code: I64,
    stored: _Stored,
    hand_code: int,
    review_factor: float,
) -> Decision:
    """``service.recompute.decide`` for every row at once (``levels`` (N, 3): t1, t2, t3)."""

    def same(has: Bool, old: I64, old_code: I64) -> Bool:
        old_disabled = old[:, 2] <= 0  # codec.levels_from_row: T3 ≤ 0 is a disabled item
        equal: Bool = (old == levels).all(axis=1)
        out: Bool = has & equal & (old_disabled == disabled) & (old_code == code)
        return out

    same_a = same(stored.has_a, stored.a, stored.a_code)
    same_r = same(stored.has_r, stored.r, stored.r_code)
    hand = stored.has_a & (stored.a_code == hand_code)
    skip = np.where(stored.has_a, same_a | hand | same_r, same_r)
    write = ~skip
    old_t2 = stored.a[:, 1].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = levels[:, 1] / np.where(old_t2 > 0, old_t2, 1.0)
    far = (ratio > review_factor) | (ratio < 1 / review_factor)
    review = write & stored.has_a & (stored.a[:, 2] > 0) & ~disabled & (stored.a[:, 1] > 0) & far
    return Decision(write, review, skip)


def recompute_bulk(
    keys: Sequence[str],
    as_of: date,
    compute: ColumnComputer,
    store: BulkThresholdStore,
    now: datetime,
    *,
    review_factor: float = DEFAULT_REVIEW_FACTOR,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    has_sales: bool = True,
    allow_no_sales: bool = False,
    timings: dict[str, float] | None = None,
    write_ahead: bool = False,
    read_ahead: bool = False,
) -> RecomputeReport:
    """``service.recompute.recompute`` on arrays: same rules, same report, one transaction per
    chunk. ``timings`` (if given) adds up the seconds spent computing and persisting (wall, and
    this process's CPU as ``compute_cpu``/``persist_cpu``).

    ``write_ahead`` (a store whose writes wait on a database server, as the wiring sets it for
    PostgreSQL): chunk k is written on a second thread (its own connection) while this one
    computes and decides chunk k+1, and the stored levels are read as with ``read_ahead``, so
    that the server's work and this process's take place at once instead of in turn. At
    most one write is in flight and chunk k+1's write starts only once chunk k's committed: the
    chunks commit in the same order, each in its own transaction, and a failed write stops the
    recompute before the next chunk is written, as without it. ``progress`` hears of a chunk
    once its write has committed.

    ``read_ahead`` (implied by ``write_ahead``; a store whose connections share its data, not
    an in-memory SQLite): only the stored levels are read on a second thread while the first
    chunks (up to READ_AHEAD_CHUNKS) are computed (the database's read, in its C code, beside
    this thread's numpy)."""
    import time

    if not review_factor > 1 or not math.isfinite(review_factor):
        raise ValueError(f"review_factor must be a number > 1, got {review_factor}")
    if not has_sales and not allow_no_sales and store.has_versions(keys):
        raise NoSalesHistory()
    report = RecomputeReport()
    codes = _Codes()
    worded: NotesCache = {}  # notes worded once per recompute, not once per chunk
    spent = timings if timings is not None else {}

    def took(name: str, wall: float, cpu: float) -> None:
        spent[name] = spent.get(name, 0.0) + wall
        spent[f"{name}_cpu"] = spent.get(f"{name}_cpu", 0.0) + cpu

    def read_stored() -> _Stored:
        # The stored levels of every key in one bulk read (a scan, not a query per chunk),
        # kept as a few integer arrays; each chunk takes its slice.
        with paused_gc():
            return _stored(keys, store.live_levels(keys), codes)

    aside = ThreadPoolExecutor(max_workers=1) if write_ahead or read_ahead else None
    writer = aside if write_ahead else None
    in_flight: Future[None] | None = None
    owed: list[int] = []  # chunk sizes whose write has not committed yet, for ``progress``

    def settle(timed: bool = True) -> None:
        """Wait for the write in flight (raising its error), then report its chunks. ``timed``:
        the wait counts as persisting (not when the caller's own span already counts it)."""
        nonlocal in_flight
        if in_flight is not None:
            start, cpu0 = time.perf_counter(), time.process_time()
            try:
                in_flight.result()
            finally:
                in_flight = None
                if timed:
                    took("persist", time.perf_counter() - start, time.process_time() - cpu0)
        if progress is not None:
            for size in owed:
                progress(size)
        owed.clear()

    def write(batch: VersionBatch) -> None:
        nonlocal in_flight
        if writer is None:
            store.write_versions(batch, now)
            return
        settle(timed=False)  # inside the chunk's persist span
        in_flight = writer.submit(store.write_versions, batch, now)

    try:
        start, cpu0 = time.perf_counter(), time.process_time()
        reading = aside.submit(read_stored) if aside is not None else None
        everything = read_stored() if reading is None else None
        took("persist", time.perf_counter() - start, time.process_time() - cpu0)
        # Computed chunks waiting for the stored levels: while they are being read (a second
        # of the database's work for a million items), up to READ_AHEAD_CHUNKS are computed.
        waiting: deque[tuple[int, LevelColumns]] = deque()

        def persist_waiting() -> None:
            nonlocal everything
            start, cpu0 = time.perf_counter(), time.process_time()
            if everything is None:
                assert reading is not None
                everything = reading.result()
            while waiting:
                at, columns = waiting.popleft()
                _persist(
                    columns,
                    everything.rows(at, at + len(columns.keys)),
                    write,
                    review_factor,
                    report,
                    codes,
                    worded,
                )
                owed.append(len(columns.keys))
            took("persist", time.perf_counter() - start, time.process_time() - cpu0)

        starts = range(0, len(keys), chunk)
        for lo in starts:
            with paused_gc():
                start, cpu0 = time.perf_counter(), time.process_time()
                try:
                    waiting.append((lo, compute.columns(keys[lo : lo + chunk], as_of)))
                except BaseException:
                    persist_waiting()  # the chunks computed before it are kept, as in turn
                    settle()
                    raise
                took("compute", time.perf_counter() - start, time.process_time() - cpu0)
                if (
                    everything is None
                    and reading is not None
                    and not reading.done()
                    and len(waiting) < READ_AHEAD_CHUNKS
                    and lo != starts[-1]
                ):
                    continue
                persist_waiting()
            if in_flight is None:
                settle()
        if everything is None and reading is not None:
            reading.result()  # no keys: still, a failed read is not passed over
        settle()
    finally:
        if aside is not None:
            aside.shutdown(wait=True)  # a write in flight commits or fails whole
    return report


def _persist(
    columns: LevelColumns,
    chunk_stored: _Stored,
    write: Callable[[VersionBatch], None],
    review_factor: float,
    report: RecomputeReport,
    codes: _Codes,
    worded: NotesCache | None = None,
) -> None:
    b, keys = columns.bulk, columns.keys
    ok = columns.ok() & ~b.error
    report.computed += len(keys)
    for row in np.flatnonzero(~ok).tolist():
        report.errors.append((keys[row], columns.errors.get(row) or _error(columns, row)))
    rows = np.flatnonzero(ok)
    if not len(rows):
        return
    disabled = b.disabled[rows]
    levels = np.column_stack((b.t1[rows], b.t2[rows], b.t3[rows])).astype(np.int64)
    levels[disabled] = 0  # TierLevels.off
    name_code = np.array([codes.code(n) for n in STRATEGY_NAMES], np.int64)
    code = np.where(disabled, codes.code(DISABLED), name_code[b.strategy_codes()[rows]])
    stored = chunk_stored.rows(rows)
    decision = decide_columns(levels, disabled, code, stored, codes.code(HAND_SET), review_factor)
    report.unchanged += int(decision.unchanged.sum())
    report.flagged += int(decision.review.sum())
    written = np.flatnonzero(decision.write)
    report.activated += len(written) - int(decision.review[written].sum())
    report.written += len(written)
    if not len(written):
        return
    batch = _batch(
        columns, rows, written, levels, code, stored, decision, codes, review_factor, worded
    )
    write(batch)


def _error(columns: LevelColumns, row: int) -> str:
    return f"item {columns.keys[row]}: {columns.bulk.error_message(row)}"


def _batch(
    columns: LevelColumns,
    rows: I64,
    written: I64,
    levels: I64,
    code: I64,
    stored: _Stored,
    decision: Decision,
    codes: _Codes,
    review_factor: float,
    worded: NotesCache | None = None,
) -> VersionBatch:
    b = columns.bulk
    src = rows[written]  # rows of the chunk
    off = b.disabled[src]
    names = {v: k for k, v in codes.items()}
    out = VersionBatch()
    out.keys = list(map(columns.keys.__getitem__, src.tolist()))
    review = decision.review[written]
    words = (ThresholdStatus.ACTIVE.value, ThresholdStatus.REVIEW.value)
    out.status = [words[r] for r in review.astype(np.int64).tolist()]
    lv = levels[written]
    out.t1, out.t2, out.t3 = lv[:, 0].tolist(), lv[:, 1].tolist(), lv[:, 2].tolist()
    out.velocity = np.where(off, 0.0, b.rate[src]).tolist()
    out.strategy = [names[c] for c in code[written].tolist()]
    numbers: list[bytes | None] = list(packed(numbers_matrix(b, src)))
    notes = notes_json(b, src, worded)
    whole: list[TierLevels | None] = [None] * len(src)
    for j in np.flatnonzero(off).tolist():  # TierLevels.off: no inputs, its one note
        numbers[j] = None
        notes[j] = json.dumps(list(b.levels(int(src[j])).basis.notes), ensure_ascii=False)
    for j in np.flatnonzero(needs_json(b, src) & ~off).tolist():
        numbers[j], notes[j] = None, None
        whole[j] = b.levels(int(src[j]))
    out.numbers, out.notes, out.whole = numbers, notes, whole
    # Rows picked by index, not by walking every row: a first recompute writes a million rows,
    # none of them for review or retiring anything.
    out.review_reason = [None] * len(src)
    old_t2 = stored.a[written, 1]
    for j in np.flatnonzero(review).tolist():
        out.review_reason[j] = review_message(int(old_t2[j]), out.t2[j], review_factor)
    has_a, has_r = stored.has_a[written], stored.has_r[written]
    out.retire_review = [out.keys[j] for j in np.flatnonzero(has_r).tolist()]
    out.retire_active = [out.keys[j] for j in np.flatnonzero(has_a & ~review).tolist()]
    return out
