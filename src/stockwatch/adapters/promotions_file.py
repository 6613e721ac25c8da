"""Promotions from a CSV file (``[catalog] promotions``), bad rows reported by line.

Columns: ``name,start,end,multiplier[,target,skus,categories,tags]``; ``start``/``end`` are
business days (YYYY-MM-DD, both included), ``target`` is ``demand`` (default) or ``threshold``,
and the lists are separated by ``|``. Chinese headers are accepted too (活动, 开始, 结束, 倍数).
"""

from __future__ import annotations

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


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def _set(value: str) -> frozenset[str]:
    return frozenset(v.strip() for v in value.split("|") if v.strip())


def promotion_from(fields: dict[str, str]) -> Promotion:
    """Build a promotion from text fields; ValueError names the field that is wrong."""
    for name in ("name", "start", "end", "multiplier"):
        if not fields.get(name):
            raise ValueError(f"missing {name}")
    try:
        multiplier = float(fields["multiplier"])
    except ValueError:
        raise ValueError(f"multiplier {fields['multiplier']!r} is not a number") from None
    return Promotion(
        name=fields["name"],
        start=_day(fields["start"], "start"),
        end=_day(fields["end"], "end"),
        multiplier=multiplier,
        target=fields.get("target") or "demand",
        skus=_set(fields.get("skus", "")),
        categories=_set(fields.get("categories", "")),
        tags=_set(fields.get("tags", "")),
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
        except ValueError as exc:
            out.problems.append(RowProblem(line, str(exc)))
    return out
