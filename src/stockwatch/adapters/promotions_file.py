"""Promotions from a CSV file (``[catalog] promotions``), bad rows reported by line.

Columns: ``name,start,end,multiplier[,target,skus,categories,tags]``; ``start``/``end`` are
business days (YYYY-MM-DD, both included), ``target`` is ``demand`` (default) or ``threshold``,
and the lists are separated by ``|``. Chinese headers are accepted too (活动, 开始, 结束, 倍数).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

from stockwatch.adapters.files import FileFormatError, Loaded, RowProblem, _open_csv
from stockwatch.core.promotions import Promotion

_NAMES = {
    "name": ("name", "活动", "活动名称"),
    "start": ("start", "开始", "开始日期"),
    "end": ("end", "结束", "结束日期"),
    "multiplier": ("multiplier", "倍数", "系数"),
    "target": ("target", "作用"),
    "skus": ("skus", "sku", "商品"),
    "categories": ("categories", "类目"),
    "tags": ("tags", "标签"),
}


def _cell(row: dict[str, str], name: str) -> str:
    for alias in _NAMES[name]:
        if row.get(alias):
            return row[alias]
    return ""


class PromotionFieldError(ValueError):
    """A promotion row is wrong in one field (a column of the file)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PromotionFieldError(name, f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def _set(value: str) -> frozenset[str]:
    return frozenset(v.strip() for v in value.split("|") if v.strip())


def promotion_from(fields: dict[str, str]) -> Promotion:
    """Build a promotion from text fields; PromotionFieldError names the field that is wrong."""
    for name in ("name", "start", "end", "multiplier"):
        if not fields.get(name, "").strip():
            raise PromotionFieldError(name, f"missing {name}")
    try:
        multiplier = float(fields["multiplier"])
    except ValueError:
        raise PromotionFieldError(
            "multiplier", f"multiplier {fields['multiplier']!r} is not a number"
        ) from None
    start, end = _day(fields["start"], "start"), _day(fields["end"], "end")
    target = fields.get("target") or "demand"
    skus, categories, tags = (_set(fields.get(n, "")) for n in ("skus", "categories", "tags"))
    # The same rules as Promotion's own, checked here first to say which column is wrong.
    for wrong, name, why in (
        (end < start, "end", "ends before it starts"),
        (not math.isfinite(multiplier) or multiplier <= 0, "multiplier", "multiplier must be > 0"),
        (target not in ("demand", "threshold"), "target", "target must be 'demand' or 'threshold'"),
        (not (skus or categories or tags), "skus", "names no items, categories or tags"),
    ):
        if wrong:
            raise PromotionFieldError(name, f"promotion {fields['name']!r} {why}")
    return Promotion(
        name=fields["name"],
        start=start,
        end=end,
        multiplier=multiplier,
        target=target,
        skus=skus,
        categories=categories,
        tags=tags,
    )


def read_promotions(path: Path) -> Loaded[Promotion]:
    """Read promotions; each bad row is skipped with its line number and reason."""
    header, rows = _open_csv(path)
    for name in ("name", "start", "end", "multiplier"):
        if not any(alias in header for alias in _NAMES[name]):
            raise FileFormatError(
                f"{path}: no {name!r} column (accepted names: {', '.join(_NAMES[name])})"
            )
    out: Loaded[Promotion] = Loaded(path)
    for line, row in rows:
        try:
            out.rows.append(promotion_from({name: _cell(row, name) for name in _NAMES}))
        except PromotionFieldError as exc:
            out.problems.append(RowProblem(line, str(exc), field=exc.field))
    return out
