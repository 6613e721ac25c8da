"""Read a sales file (CSV or Parquet) for import: validate every row, total per SKU and day.

Rows with an unknown item, a negative or non-integer quantity, a bad date or a duplicate order
id are reported with their line (CSV) or row (Parquet, counted from 1) and left out; every other
row is summed per (SKU, Asia/Shanghai business day). Returns are not demand: a negative row is
reported, not netted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from stockwatch.adapters.db.sales import DayTotal
from stockwatch.adapters.files import (
    _ALIASES,
    SHANGHAI,
    FileFormatError,
    RowProblem,
    _int,
    _parse_day,
    read_sales,
)

_EPOCH = date(1970, 1, 1).toordinal()
# Order exports carry a time rather than a date; both end up as the Shanghai business day.
_EXTRA = {
    "day": ("time", "paid_at", "order_time", "下单时间"),
    "quantity": ("quantity", "qty", "数量"),
}


@dataclass
class SalesFile:
    """A validated sales file: its hash, the daily totals to import and the rows left out."""

    path: Path
    sha256: str
    rows_read: int
    totals: list[DayTotal] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)  # ignored; the CLI warns

    @property
    def first_day(self) -> date | None:
        return min((t.day for t in self.totals), default=None)

    @property
    def last_day(self) -> date | None:
        return max((t.day for t in self.totals), default=None)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise FileFormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise FileFormatError(f"{path}: is a directory, not a file") from None
    return digest.hexdigest()


def read_sales_file(
    path: Path, known_skus: Collection[str] | None = None, tz: ZoneInfo = SHANGHAI
) -> SalesFile:
    """Validate and total a CSV or Parquet sales file; ``known_skus`` None skips that check."""
    sha = file_sha256(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(path, sha, known_skus, tz)
    return _read_csv(path, sha, known_skus, tz)


def _read_csv(path: Path, sha: str, known: Collection[str] | None, tz: ZoneInfo) -> SalesFile:
    loaded = read_sales(path, tz)
    out = SalesFile(path, sha, rows_read=len(loaded.rows) + len(loaded.problems))
    out.problems.extend(loaded.problems)
    out.unknown_columns = loaded.unknown_columns
    totals: dict[tuple[str, date], int] = {}
    for line in loaded.rows:
        if line.quantity < 0:
            out.problems.append(RowProblem(line.line, _negative(line.quantity)))
        elif known is not None and line.sku not in known:
            out.problems.append(RowProblem(line.line, _unknown(line.sku)))
        else:
            key = (line.sku, line.day)
            totals[key] = totals.get(key, 0) + line.quantity
    out.problems.sort(key=lambda p: p.line)
    out.totals = [DayTotal(sku, day, qty) for (sku, day), qty in sorted(totals.items())]
    return out


def _negative(qty: int) -> str:
    return f"quantity {qty} is negative: returns are not demand, record them separately"


def _unknown(sku: str) -> str:
    return f"unknown item {sku!r}: not in the item catalogue"


def _column(table: pa.Table, path: Path, name: str, required: bool) -> pa.ChunkedArray | None:
    names = {n.strip().lower(): n for n in table.column_names}
    for alias in (*_ALIASES.get(name, (name,)), *_EXTRA.get(name, ())):
        if alias in names:
            return table.column(names[alias])
    if required:
        accepted = ", ".join((*_ALIASES.get(name, (name,)), *_EXTRA.get(name, ())))
        raise FileFormatError(f"{path}: no {name!r} column (accepted names: {accepted})")
    return None


def _read_parquet(path: Path, sha: str, known: Collection[str] | None, tz: ZoneInfo) -> SalesFile:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileFormatError(f"{path}: not a readable Parquet file ({exc})") from None
    n = table.num_rows
    out = SalesFile(path, sha, rows_read=n)
    accepted = {
        alias
        for name in ("sku", "day", "quantity", "order_id")
        for alias in (*_ALIASES.get(name, (name,)), *_EXTRA.get(name, ()))
    }
    out.unknown_columns = [c for c in table.column_names if c.strip().lower() not in accepted]
    bad: dict[int, str] = {}  # row index → first problem found

    def flag(mask: npt.NDArray[np.bool_], message: Any) -> None:
        _flag(bad, mask, message)

    sku_col = _column(table, path, "sku", True)
    assert sku_col is not None
    skus = pc.utf8_trim_whitespace(sku_col.cast(pa.string()))
    sku_list: list[Any] = skus.to_pylist()
    empty = np.array([not s for s in sku_list], dtype=np.bool_)
    flag(empty, "empty sku")

    days = _parquet_days(_column(table, path, "day", True), tz, bad)
    qty = _parquet_quantity(_column(table, path, "quantity", True), bad, path)
    flag(qty < 0, lambda i: _negative(int(qty[i])))
    if known is not None:
        known_set = set(known)
        flag(
            np.array([bool(s) and s not in known_set for s in sku_list]),
            lambda i: _unknown(sku_list[i]),
        )

    orders = _column(table, path, "order_id", False)
    if orders is not None:
        seen: dict[tuple[str, str], int] = {}
        for i, order in enumerate(orders.cast(pa.string()).to_pylist()):
            if not order or i in bad:
                continue
            key = (sku_list[i], order)
            if key in seen:
                bad[i] = f"duplicate order {order} for {sku_list[i]} (first on row {seen[key] + 1})"
            else:
                seen[key] = i
    out.problems = [RowProblem(i + 1, msg, unit="row") for i, msg in sorted(bad.items())]
    ok = np.ones(n, dtype=np.bool_)
    if bad:
        ok[list(bad)] = False
    if not ok.any():
        return out
    codes_arr = pc.dictionary_encode(skus).combine_chunks()
    codes = np.asarray(codes_arr.indices.to_numpy(zero_copy_only=False), dtype=np.int64)[ok]
    names = codes_arr.dictionary.to_pylist()
    d = days[ok]
    span = int(d.max() - d.min() + 1)
    key = codes * span + (d - d.min())
    uniq, inverse = np.unique(key, return_inverse=True)
    sums = np.bincount(inverse, weights=qty[ok].astype(np.float64)).astype(np.int64)
    base = int(d.min())
    out.totals = [
        DayTotal(names[int(k // span)], date.fromordinal(int(k % span) + base), int(s))
        for k, s in zip(uniq.tolist(), sums.tolist(), strict=True)
    ]
    return out


def _flag(bad: dict[int, str], mask: npt.NDArray[np.bool_], message: Any) -> None:
    for i in np.flatnonzero(mask).tolist():
        bad.setdefault(i, message(i) if callable(message) else message)


def _parquet_days(
    col: pa.ChunkedArray | None, tz: ZoneInfo, bad: dict[int, str]
) -> npt.NDArray[np.int64]:
    """Return each row's business-day ordinal (0 where the date is bad, and flag it)."""
    assert col is not None
    typ = col.type
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    _flag(bad, ~valid, "empty date")
    if pa.types.is_date(typ):
        raw = col.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy()
        return np.asarray(raw, dtype=np.int64) + _EPOCH
    if pa.types.is_timestamp(typ):
        micros = col.cast(pa.timestamp("us", tz=typ.tz)).cast(pa.int64()).fill_null(0).to_numpy()
        if typ.tz is not None:
            # 1688 business days: shift UTC instants to the merchant's zone (UTC+8, no DST)
            offset = tz.utcoffset(datetime(2020, 1, 1)) or timedelta(0)
            micros = micros + int(offset.total_seconds()) * 1_000_000
        return np.asarray(np.floor_divide(micros, 86_400_000_000), dtype=np.int64) + _EPOCH
    out = np.zeros(len(col), dtype=np.int64)
    for i, text in enumerate(col.cast(pa.string()).to_pylist()):
        if text is None:
            continue
        try:
            out[i] = _parse_day(str(text).strip(), tz).toordinal()
        except ValueError as exc:
            bad.setdefault(i, str(exc))
    return out


def _parquet_quantity(
    col: pa.ChunkedArray | None, bad: dict[int, str], path: Path
) -> npt.NDArray[np.int64]:
    assert col is not None
    typ = col.type
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    _flag(bad, ~valid, "missing quantity")
    if pa.types.is_integer(typ):
        return np.asarray(col.fill_null(0).to_numpy(), dtype=np.int64)
    if pa.types.is_floating(typ):
        values = np.asarray(col.fill_null(0).to_numpy(), dtype=np.float64)
        whole = np.isfinite(values) & (values == np.round(values))
        _flag(bad, ~whole, lambda i: f"quantity {values[i]!r} is not a whole number")
        return np.where(whole, values, 0).astype(np.int64)
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        raise FileFormatError(f"{path}: quantity column has type {typ}, expected numbers")
    out = np.zeros(len(col), dtype=np.int64)
    for i, text in enumerate(col.to_pylist()):
        if text is None:
            continue
        try:
            out[i] = _int(str(text).strip(), "quantity", minimum=None)
        except ValueError as exc:
            bad.setdefault(i, str(exc))
    return out
