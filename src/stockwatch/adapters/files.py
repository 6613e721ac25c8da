"""Read the merchant's files: item catalogue (CSV), stock snapshots (CSV/JSON), daily sales (CSV).

Bad rows never stop a file: each is reported with its line number and reason, and every valid
row is still returned. A file that cannot be read at all (missing, wrong encoding, no header)
raises FileFormatError naming the file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from stockwatch.core.model import (
    Item,
    ItemClass,
    ItemKey,
    OfferMapping,
    OfferStatus,
    Reading,
    ReadingSource,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")


class FileFormatError(Exception):
    """The file as a whole cannot be read."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str
    unit: str = "line"  # "row" for Parquet: data rows counted from 1
    field: str = ""  # the column at fault, when one is (``config validate`` names it)

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.message}"


@dataclass
class Loaded(Generic[T]):
    """Rows read from a file, and the rows skipped with their reasons."""

    path: Path
    rows: list[T] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)  # ignored: each one is warned about

    @property
    def skipped(self) -> int:
        return len(self.problems)


_ALIASES = {
    "sku": ("sku", "sku_code", "商家编码", "货号"),
    "warehouse": ("warehouse", "location", "仓库"),
    "on_hand": (
        "on_hand",
        "stock",
        "quantity",
        "qty",
        "amount_on_sale",
        "库存",
        "实际库存",
        "现有库存",
        "实物库存",
        "库存数量",
    ),
    # Chinese ERPs (聚水潭, 旺店通, 管家婆 …) call committed stock 占用/锁定/预占 and stock on
    # the way 在途; dropping them silently made the position wrong.
    "committed": ("committed", "locked", "锁定库存", "占用库存", "预占库存", "订单占用", "已占用"),
    "in_transit": ("in_transit", "on_order", "在途", "在途库存", "采购在途", "在途数量"),
    "observed_at": ("observed_at", "time", "timestamp", "时间"),
    "offer_status": ("offer_status", "status"),
    "day": ("date", "day", "日期"),
    "order_id": ("order_id", "订单号"),
}
STOCK_COLUMNS = (
    "sku",
    "warehouse",
    "on_hand",
    "committed",
    "in_transit",
    "observed_at",
    "offer_status",
)
ITEM_COLUMNS = (
    "title",
    "offer_id",
    "spec_id",
    "sku_id",
    "supplier",
    "category",
    "class",
    "item_class",
    "tags",
    "lead_time_days",
    "lead_time_sd_days",
    "min_order_qty",
    "order_multiple",
    "listed_on",
)
SALES_COLUMNS = ("quantity", "qty")


def accepted_columns(*names: str) -> list[str]:
    """Return every header name accepted for the given columns (aliases included)."""
    return [alias for name in names for alias in _ALIASES.get(name, (name,))]


def _unknown(header: list[str], accepted: list[str]) -> list[str]:
    known = set(accepted)
    return [name for name in header if name and name not in known]


# How a malformed CSV is reported: csv names the symptom, this the likely cause.
_QUOTES = "check its quotes (one never closed, or text after a closing quote)"


def _open_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise FileFormatError(f"{path}: is a directory, not a file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")  # Excel on zh-CN Windows saves CSV as GBK
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{path}: neither UTF-8 nor GB18030 text ({exc})") from None
    # strict: a quote never closed is an error, not a cell that swallows the rest of the file
    # (every row after it silently gone).
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise FileFormatError(f"{path}: malformed CSV at line 1 ({exc}): {_QUOTES}") from None
    if not header:
        raise FileFormatError(f"{path}: empty file, expected a header row")
    reader.fieldnames = [name.strip().lower() for name in header]
    rows = []
    while True:
        begins = reader.line_num + 1  # where the row being read starts
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FileFormatError(
                f"{path}: malformed CSV at line {begins} ({exc}): {_QUOTES}"
            ) from None
        # DictReader's line_num is the physical line of the row's end; multi-line cells are rare.
        cells = {k: (v.strip() if isinstance(v, str) else "") for k, v in row.items() if k}
        if None in row:
            cells["__extra__"] = "1"
        rows.append((reader.line_num, cells))
    return list(reader.fieldnames), rows


def _pick(row: dict[str, str], name: str) -> str:
    for alias in _ALIASES.get(name, (name,)):
        value = row.get(alias)
        if value:
            return value
    return ""


def _require_column(path: Path, header: list[str], name: str) -> None:
    if not any(alias in header for alias in _ALIASES.get(name, (name,))):
        raise FileFormatError(
            f"{path}: no {name!r} column (accepted names: {', '.join(_ALIASES.get(name, (name,)))})"
        )


def _int(value: str, name: str, *, minimum: int | None = 0) -> int:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if number != int(number):
        raise ValueError(f"{name} {value!r} is not a whole number")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} {value!r} is negative")
    return int(number)


def _float(value: str, name: str) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if number < 0 or number != number:
        raise ValueError(f"{name} {value!r} must be ≥ 0")
    return number


def parse_time(value: str, default: datetime) -> datetime:
    """Parse an ISO time; a naive time is Asia/Shanghai (the merchant's clock)."""
    if not value:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"time {value!r} is not ISO 8601 (e.g. 2026-11-24T09:30:00+08:00)"
        ) from None
    return parsed.replace(tzinfo=SHANGHAI) if parsed.tzinfo is None else parsed


def read_items(path: Path) -> Loaded[Item]:
    """Read the item catalogue: SKU → 1688 offer/spec mapping plus what thresholds need."""
    header, rows = _open_csv(path)
    _require_column(path, header, "sku")
    out: Loaded[Item] = Loaded(path)
    out.unknown_columns = _unknown(header, accepted_columns("sku", "warehouse", *ITEM_COLUMNS))
    seen: dict[ItemKey, int] = {}
    for line, row in rows:
        try:
            sku = _pick(row, "sku")
            if not sku:
                raise ValueError("empty sku")
            offer_id = row.get("offer_id", "")
            if offer_id and not offer_id.isdigit():
                raise ValueError(f"offer_id {offer_id!r} is not a 1688 offer number")
            cls_text = (row.get("class") or row.get("item_class") or "B").upper()
            if cls_text not in ("A", "B", "C"):
                raise ValueError(f"class {cls_text!r} is not A, B or C")
            lead = _float(row.get("lead_time_days", ""), "lead_time_days")
            lead_sd = _float(row.get("lead_time_sd_days", ""), "lead_time_sd_days")
            if lead is not None and lead_sd is not None and lead_sd > lead:
                raise ValueError(f"lead_time_sd_days {lead_sd:g} exceeds lead_time_days {lead:g}")
            listed = row.get("listed_on", "")
            item = Item(
                sku=sku,
                title=row.get("title", ""),
                offer=OfferMapping(
                    sku, offer_id, row.get("spec_id") or None, row.get("sku_id") or None
                )
                if offer_id
                else None,
                supplier=row.get("supplier", ""),
                category=row.get("category", ""),
                item_class=ItemClass(cls_text),
                tags=frozenset(t.strip() for t in row.get("tags", "").split("|") if t.strip()),
                warehouse=_pick(row, "warehouse") or None,
                lead_time_days=lead,
                lead_time_sd_days=lead_sd,
                min_order_qty=_int(row.get("min_order_qty") or "1", "min_order_qty", minimum=1),
                order_multiple=_int(row.get("order_multiple") or "1", "order_multiple", minimum=1),
                listed_on=date.fromisoformat(listed) if listed else None,
            )
            if item.key in seen:
                raise ValueError(f"duplicate item {item.key} (first on line {seen[item.key]})")
            seen[item.key] = line
            out.rows.append(item)
        except ValueError as exc:
            out.problems.append(RowProblem(line, str(exc)))
    return out


def _reading_from(row: dict[str, Any], now: datetime, source: ReadingSource) -> Reading:
    sku = str(row.get("sku") or "").strip()
    if not sku:
        raise ValueError("empty sku")
    on_hand_text = str(row.get("on_hand", "")).strip()
    if not on_hand_text:
        raise ValueError("missing on_hand")
    status_text = str(row.get("offer_status") or "active").strip().lower()
    try:
        status = OfferStatus(status_text)
    except ValueError:
        raise ValueError(
            f"offer_status {status_text!r} is not one of active/delisted/expired/gone"
        ) from None
    return Reading(
        key=ItemKey(sku, str(row.get("warehouse") or "").strip() or None),
        observed_at=parse_time(str(row.get("observed_at") or "").strip(), now),
        source=source,
        # Oversold positions are real on 1688 (negative stock), so negatives are accepted here.
        on_hand=_int(on_hand_text, "on_hand", minimum=None),
        committed=_int(str(row.get("committed") or "0"), "committed"),
        in_transit=_int(str(row.get("in_transit") or "0"), "in_transit"),
        offer_status=status,
    )


def read_stock(path: Path, now: datetime) -> Loaded[Reading]:
    """Read a stock snapshot (CSV, or JSON: a list of objects or ``{"items": [...]}``)."""
    out: Loaded[Reading] = Loaded(path)
    accepted = accepted_columns(*STOCK_COLUMNS)
    if path.suffix.lower() == ".json":
        rows = _json_rows(path)
        keys = dict.fromkeys(
            str(k).strip().lower() for _, obj in rows if isinstance(obj, dict) for k in obj
        )
        out.unknown_columns = _unknown(list(keys), accepted)
        seen_json: dict[ItemKey, int] = {}
        for line, obj in rows:
            try:
                if not isinstance(obj, dict):
                    raise ValueError("expected an object with sku and on_hand")
                norm = {k: obj.get(k) for k in obj}
                norm.setdefault("sku", obj.get("sku"))
                reading = _reading_from(_normalise(norm), now, ReadingSource.IMPORT)
                _add_once(out, reading, line, seen_json)
            except ValueError as exc:
                out.problems.append(RowProblem(line, str(exc)))
        return out
    header, rows = _open_csv(path)
    _require_column(path, header, "sku")
    _require_column(path, header, "on_hand")
    out.unknown_columns = _unknown(header, accepted)
    seen: dict[ItemKey, int] = {}
    for line, row in rows:
        try:
            if "__extra__" in row:
                raise ValueError("more cells than header columns")
            _add_once(out, _reading_from(_normalise(row), now, ReadingSource.IMPORT), line, seen)
        except ValueError as exc:
            out.problems.append(RowProblem(line, str(exc)))
    return out


def _add_once(out: Loaded[Reading], reading: Reading, line: int, seen: dict[ItemKey, int]) -> None:
    """Keep the first row of an item; a second one is reported, never counted twice."""
    if reading.key in seen:
        raise ValueError(f"duplicate row for {reading.key} (first on line {seen[reading.key]})")
    seen[reading.key] = line
    out.rows.append(reading)


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    as_text = {str(k).strip().lower(): "" if v is None else str(v) for k, v in row.items()}
    return {name: _pick(as_text, name) for name in _ALIASES} | {
        "offer_status": as_text.get("offer_status", "") or as_text.get("status", "")
    }


def _json_rows(path: Path) -> list[tuple[int, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileFormatError(f"{path}: file not found") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if isinstance(data, dict):
        data = data.get("items")
    if not isinstance(data, list):
        raise FileFormatError(f'{path}: expected a JSON list of items or {{"items": [...]}}')
    lines = _json_item_lines(text, len(data))
    return list(zip(lines, data, strict=True))


def _json_item_lines(text: str, count: int) -> list[int]:
    """Return the line on which each top-level list element starts (1-based)."""
    decoder = json.JSONDecoder()
    starts: list[int] = []
    idx = text.find("[", text.find('"items"') if text.lstrip().startswith("{") else 0)
    pos = idx + 1
    for _ in range(count):
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        starts.append(text.count("\n", 0, pos) + 1)
        _, end = decoder.raw_decode(text, pos)
        pos = end
    return starts


@dataclass(frozen=True)
class SalesLine:
    sku: str
    day: date
    quantity: int  # negative: a return or correction
    order_id: str = ""
    line: int = 0  # where it was read, for later checks to report


def read_sales(path: Path, tz: ZoneInfo = SHANGHAI) -> Loaded[SalesLine]:
    """Read sales lines (date, sku, quantity[, order_id, warehouse]); times are bucketed by
    Shanghai day; a warehouse makes the line count for ``SKU@WAREHOUSE``."""
    header, rows = _open_csv(path)
    for name in ("sku", "day"):
        _require_column(path, header, name)
    if "quantity" not in header and "qty" not in header:
        raise FileFormatError(f"{path}: no 'quantity' column")
    out: Loaded[SalesLine] = Loaded(path)
    out.unknown_columns = _unknown(
        header, accepted_columns("sku", "day", "order_id", *SALES_COLUMNS)
    )
    seen_orders: dict[tuple[str, str], int] = {}
    for line, row in rows:
        try:
            sku = _pick(row, "sku")
            if not sku:
                raise ValueError("empty sku")
            warehouse = _pick(row, "warehouse")
            if warehouse:  # the warehouse's own sales: item key SKU@WAREHOUSE
                sku = f"{sku}@{warehouse}"
            raw_day = _pick(row, "day")
            day = _parse_day(raw_day, tz)
            qty = _int(row.get("quantity") or row.get("qty") or "", "quantity", minimum=None)
            order_id = _pick(row, "order_id")
            if order_id:
                key = (sku, order_id)
                if key in seen_orders:
                    raise ValueError(
                        f"duplicate order {order_id} for {sku} (first on line {seen_orders[key]})"
                    )
                seen_orders[key] = line
            out.rows.append(SalesLine(sku, day, qty, order_id, line))
        except ValueError as exc:
            out.problems.append(RowProblem(line, str(exc)))
    return out


def _parse_day(value: str, tz: ZoneInfo) -> date:
    if not value:
        raise ValueError("empty date")
    try:
        if len(value) <= 10:
            return date.fromisoformat(value.replace("/", "-"))
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD or ISO 8601") from None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(tz).date()


def daily_series(lines: list[SalesLine], end: date, days: int) -> dict[str, list[int]]:
    """Return per-SKU daily net sales for the ``days`` days before ``end``, zero-filled.

    Each day is netted then clamped at 0, so returns never make demand negative.
    """
    start = date.fromordinal(end.toordinal() - days)
    series: dict[str, list[int]] = {}
    for line in lines:
        if not start <= line.day < end:
            continue
        row = series.setdefault(line.sku, [0] * days)
        row[line.day.toordinal() - start.toordinal()] += line.quantity
    return {sku: [max(v, 0) for v in row] for sku, row in series.items()}
