"""Daily sales in SQL (``sales_days``, ``sales_imports``): idempotent imports, history matrices.

An import is one transaction: the file's SHA-256 goes into ``sales_imports`` together with its
per-(SKU, day) totals, which are added to what other files already brought. A file whose hash is
already recorded changes nothing, so re-importing the same file is a no-op even after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from stockwatch.adapters.db.tables import readings, sales_days, sales_imports

if TYPE_CHECKING:  # numpy is imported where a matrix is built: the daemon starts without it
    import numpy as np
    import numpy.typing as npt

_IN_BATCH = 500
_INSERT_BATCH = 20_000


@dataclass(frozen=True)
class DayTotal:
    sku: str
    day: date
    quantity: int


@dataclass(frozen=True)
class ImportRecord:
    sha256: str
    path: str
    imported_at: datetime
    rows_read: int
    rows_skipped: int


class SqlSalesStore:
    """Sales history on an SQLAlchemy Engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def imported(self, sha256: str) -> ImportRecord | None:
        """Return the earlier import of a file with this hash, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(sales_imports).where(sales_imports.c.sha256 == sha256)
            ).first()
        if row is None:
            return None
        return ImportRecord(row.sha256, row.path, row.imported_at, row.rows_read, row.rows_skipped)

    def add_import(self, record: ImportRecord, totals: Iterable[DayTotal]) -> bool:
        """Record a file and add its daily totals; False (and no change) if already imported."""
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(sales_imports.c.sha256).where(sales_imports.c.sha256 == record.sha256)
            ).first()
            if exists is not None:
                return False
            conn.execute(
                sales_imports.insert().values(
                    sha256=record.sha256,
                    path=record.path,
                    imported_at=record.imported_at,
                    rows_read=record.rows_read,
                    rows_skipped=record.rows_skipped,
                )
            )
            batch: list[dict[str, object]] = []
            for total in totals:
                batch.append({"sku": total.sku, "day": total.day, "quantity": total.quantity})
                if len(batch) >= _INSERT_BATCH:
                    self._upsert(conn, batch)
                    batch = []
            if batch:
                self._upsert(conn, batch)
        return True

    def _upsert(self, conn: Connection, rows: list[dict[str, object]]) -> None:
        # Another file may already hold orders of the same day: add, do not overwrite.
        if conn.dialect.name == "postgresql":
            pg = postgresql.insert(sales_days)
            stmt = pg.on_conflict_do_update(
                index_elements=["sku", "day"],
                set_={"quantity": sales_days.c.quantity + pg.excluded.quantity},
            )
            conn.execute(stmt, rows)
            return
        lite = sqlite.insert(sales_days)
        conn.execute(
            lite.on_conflict_do_update(
                index_elements=["sku", "day"],
                set_={"quantity": sales_days.c.quantity + lite.excluded.quantity},
            ),
            rows,
        )

    def last_day(self) -> date | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(sales_days.c.day))).scalar()
        return value if isinstance(value, date) else None

    def skus(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(sales_days.c.sku).distinct()).scalars())

    def matrix(self, skus: Sequence[str], end: date, days: int) -> npt.NDArray[np.int32]:
        """Return (len(skus), days) sales for the ``days`` days before ``end``, zero-filled."""
        import numpy as np

        out = np.zeros((len(skus), days), dtype=np.int32)
        row_of = {sku: i for i, sku in enumerate(skus)}
        start = date.fromordinal(end.toordinal() - days)
        base = start.toordinal()
        c = sales_days.c
        with self.engine.connect() as conn:
            for lo in range(0, len(skus), _IN_BATCH):
                batch = list(skus[lo : lo + _IN_BATCH])
                q = select(c.sku, c.day, c.quantity).where(
                    c.sku.in_(batch), c.day >= start, c.day < end
                )
                for sku, day, qty in conn.execute(q):
                    out[row_of[sku], day.toordinal() - base] = qty
        return out

    def daily(self, skus: Sequence[str], end: date, days: int) -> dict[str, list[int]]:
        """Return per-SKU daily sales lists (oldest first) for SKUs that have any."""
        m = self.matrix(skus, end, days)
        return {sku: m[i].tolist() for i, sku in enumerate(skus) if m[i].any()}

    def stockouts(
        self, keys: Sequence[str], end: date, days: int, timezone: str = "Asia/Shanghai"
    ) -> list[set[date]]:
        """Return, per item key, the business days of the window its shelf was empty.

        A day counts when any stored reading of the item showed nothing on hand (the demand of
        that day is censored), or when an import flagged it (``sales_days.stockout``).
        """
        tz = ZoneInfo(timezone)
        start = end - timedelta(days=days)
        lo = datetime.combine(start, time.min, tzinfo=tz)
        hi = datetime.combine(end, time.min, tzinfo=tz)
        out: dict[str, set[date]] = {key: set() for key in keys}
        r, c = readings.c, sales_days.c
        with self.engine.connect() as conn:
            for i in range(0, len(keys), _IN_BATCH):
                batch = list(keys[i : i + _IN_BATCH])
                shelf = select(r.item_key, r.observed_at).where(
                    r.item_key.in_(batch), r.on_hand <= 0, r.observed_at >= lo, r.observed_at < hi
                )
                for key, at in conn.execute(shelf):
                    out[key].add(at.astimezone(tz).date())
                flagged = select(c.sku, c.day).where(
                    c.sku.in_(batch), c.stockout.is_(True), c.day >= start, c.day < end
                )
                for key, day in conn.execute(flagged):
                    out[key].add(day)
        return [out[key] for key in keys]
