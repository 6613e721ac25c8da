"""Recompute every item's thresholds from sales history, version them, flag big jumps.

The maths is injected (``LevelsComputer``: the numpy bulk path in production, anything in
tests), and so is the store; this module only decides what to write. Items are processed in
chunks so memory stays bounded whatever the catalogue size. A new version is written only when
an item's levels change; a change larger than ``review_factor`` waits in ``review`` status while
the previous version stays active.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from stockwatch.bulk.gcpause import paused_gc
from stockwatch.core.model import TierLevels
from stockwatch.core.note_text import input_text, note_text, strategy_text
from stockwatch.ports import (
    CurrentThresholds,
    LevelsComputer,
    NewThreshold,
    StoredThreshold,
    ThresholdStatus,
    ThresholdStore,
)

DEFAULT_CHUNK = 50_000
DEFAULT_REVIEW_FACTOR = 3.0


class NoSalesHistory(ValueError):
    """No sales imported but levels exist: a recompute would swap them for the new-item rule."""

    def __init__(self) -> None:
        super().__init__(
            "no sales have been imported: recomputing now would replace every item's levels by "
            "the new-item rule (and resolve open alerts); import sales first"
        )


@dataclass
class RecomputeReport:
    computed: int = 0
    written: int = 0  # new versions, active or review
    activated: int = 0
    flagged: int = 0  # sent to review
    unchanged: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)


def same_levels(a: TierLevels, b: TierLevels) -> bool:
    return (a.t1, a.t2, a.t3, a.disabled, a.basis.strategy) == (
        b.t1,
        b.t2,
        b.t3,
        b.disabled,
        b.basis.strategy,
    )


def review_reason(old: TierLevels, new: TierLevels, factor: float) -> str | None:
    """Return why a change needs a person, or None when it may apply silently.

    Switching an item on or off is a hand-made decision and never waits; otherwise the
    threshold (T2) may move by at most ``factor`` either way.
    """
    if old.disabled or new.disabled or old.t2 <= 0:
        return None
    ratio = new.t2 / old.t2
    if ratio > factor or ratio < 1 / factor:
        return review_message(old.t2, new.t2, factor)
    return None


def review_message(old_t2: int, new_t2: int, factor: float) -> str:
    """Why a T2 change from ``old_t2`` (> 0) to ``new_t2`` waits for a person."""
    return (
        f"T2 would change from {old_t2} to {new_t2} (×{new_t2 / old_t2:.2f}), more than the "
        f"review factor {factor:g}"
    )


def decide(
    key: str, levels: TierLevels, current: CurrentThresholds | None, review_factor: float
) -> NewThreshold | None:
    """Return the version to write for freshly computed levels, or None if nothing changed."""
    if current is None or current.active is None:
        pending = current.review if current is not None else None
        if pending is not None and same_levels(pending.levels, levels):
            return None
        return NewThreshold(key, levels, ThresholdStatus.ACTIVE)
    if same_levels(current.active.levels, levels):
        return None
    if current.active.levels.basis.strategy == "hand_set":
        return None  # a person set this item's level on the dashboard: it stays until cleared
    if current.review is not None and same_levels(current.review.levels, levels):
        return None  # already waiting for a person
    reason = review_reason(current.active.levels, levels, review_factor)
    if reason is not None:
        return NewThreshold(key, levels, ThresholdStatus.REVIEW, reason)
    return NewThreshold(key, levels, ThresholdStatus.ACTIVE)


def recompute(
    keys: Sequence[str],
    as_of: date,
    compute: LevelsComputer,
    store: ThresholdStore,
    now: datetime,
    *,
    review_factor: float = DEFAULT_REVIEW_FACTOR,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    has_sales: bool = True,
    allow_no_sales: bool = False,
) -> RecomputeReport:
    """Recompute ``keys`` as of ``as_of`` and write what changed; one transaction per chunk.

    Without any imported sales (``has_sales`` False) it refuses with NoSalesHistory unless
    ``allow_no_sales``, when some item already has stored levels: the CLI and the daemon share
    this rule, so neither silently swaps good levels for the new-item rule. A shop with no sales
    and no levels yet (the first start) gets the new-item rule: it replaces nothing.
    """
    if not review_factor > 1 or not math.isfinite(review_factor):
        raise ValueError(f"review_factor must be a number > 1, got {review_factor}")
    if not has_sales and not allow_no_sales and store.current(keys):
        raise NoSalesHistory()
    report = RecomputeReport()
    for lo in range(0, len(keys), chunk):
        batch = keys[lo : lo + chunk]
        with paused_gc():  # a chunk is ~15 acyclic objects per item: no cycles to find
            _recompute_chunk(batch, as_of, compute, store, now, review_factor, report)
        if progress is not None:
            progress(len(batch))
    return report


def _recompute_chunk(
    batch: Sequence[str],
    as_of: date,
    compute: LevelsComputer,
    store: ThresholdStore,
    now: datetime,
    review_factor: float,
    report: RecomputeReport,
) -> None:
    results = compute(batch, as_of)
    current = store.current([r.key for r in results if r.levels is not None])
    rows: list[NewThreshold] = []
    for result in results:
        report.computed += 1
        if result.levels is None:
            report.errors.append((result.key, result.error or "no levels"))
            continue
        row = decide(result.key, result.levels, current.get(result.key), review_factor)
        if row is None:
            report.unchanged += 1
            continue
        rows.append(row)
        if row.status is ThresholdStatus.REVIEW:
            report.flagged += 1
        else:
            report.activated += 1
    store.save(rows, now)
    report.written += len(rows)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


_WORDS = {
    "first": ("首次计算的版本", "first computed version"),
    "off": ("已停用", "switched off"),
    "on": ("已启用", "switched on"),
    "strategy": ("策略", "strategy"),
    "gone": ("不再适用：", "no longer: "),
    "because": ("原因：", "because: "),
    "review": ("待审核：", "waiting for review: "),
    "colon": ("：", ": "),
}


def _w(key: str, lang: str) -> str:
    zh, en = _WORDS[key]
    return en if lang == "en" else zh


def describe_change(
    old: StoredThreshold | None, new: StoredThreshold, lang: str = "en"
) -> list[str]:
    """Return what changed from ``old`` to ``new`` and why, one line each (zh-CN or en)."""
    lines: list[str] = []
    a, b = (old.levels if old else None), new.levels
    if a is None:
        lines.append(_w("first", lang))
    else:
        for name, x, y in (("T1", a.t1, b.t1), ("T2", a.t2, b.t2), ("T3", a.t3, b.t3)):
            if x != y:
                lines.append(f"{name}: {x} → {y}")
        if a.disabled != b.disabled:
            lines.append(_w("off" if b.disabled else "on", lang))
        if a.basis.strategy != b.basis.strategy:
            lines.append(
                f"{_w('strategy', lang)}{_w('colon', lang)}{strategy_text(a.basis.strategy, lang)}"
                f" → {strategy_text(b.basis.strategy, lang)}"
            )
        before = dict(a.basis.inputs)
        for name, value in b.basis.inputs:
            prev = before.get(name)
            if prev is None or math.isnan(prev) or math.isnan(value):
                continue
            if not math.isclose(prev, value, rel_tol=1e-9, abs_tol=1e-12):
                change = f" ({(value - prev) / prev:+.0%})" if prev else ""
                lines.append(
                    f"{input_text(name, lang)}{_w('colon', lang)}{_fmt(prev)} → {_fmt(value)}"
                    f"{change}"
                )
        gone = [n for n in a.basis.notes if n not in b.basis.notes]
        lines.extend(_w("gone", lang) + note_text(n, lang) for n in gone)
    old_notes = set(a.basis.notes) if a else set()
    lines.extend(
        _w("because", lang) + note_text(n, lang) for n in b.basis.notes if n not in old_notes
    )
    if new.review_reason:
        lines.append(_w("review", lang) + note_text(new.review_reason, lang))
    return lines
