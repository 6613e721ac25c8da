"""SqlSalesStore on SQLite and PostgreSQL: idempotent imports, additive day totals, matrices."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine

from stockwatch.adapters.db.sales import DayTotal, ImportRecord, SqlSalesStore

D = date(2026, 11, 20)


def record(sha: str, t0: datetime) -> ImportRecord:
    return ImportRecord(sha, f"/exports/{sha}.csv", t0, rows_read=3, rows_skipped=0)


def test_an_import_is_recorded_once_and_totals_add_up(engine: Engine, t0: datetime) -> None:
    store = SqlSalesStore(engine)
    first = [DayTotal("PIXEL-PILLOW", D, 4), DayTotal("PIXEL-PILLOW", date(2026, 11, 22), 1)]
    assert store.add_import(record("a" * 64, t0), first)
    assert not store.add_import(record("a" * 64, t0), first)  # same file again: no change
    # another export with more orders of the same day adds to it
    assert store.add_import(record("b" * 64, t0), [DayTotal("PIXEL-PILLOW", D, 3)])
    m = store.matrix(["PIXEL-PILLOW", "GHOST-GNOME"], date(2026, 11, 23), 5)
    assert m.tolist() == [[0, 0, 7, 0, 1], [0, 0, 0, 0, 0]]
    earlier = store.imported("a" * 64)
    assert earlier is not None and earlier.imported_at == t0 and earlier.rows_read == 3
    assert store.imported("c" * 64) is None
    assert store.last_day() == date(2026, 11, 22)
    assert store.skus() == ["PIXEL-PILLOW"]
    assert store.daily(["PIXEL-PILLOW", "GHOST-GNOME"], date(2026, 11, 23), 3) == {
        "PIXEL-PILLOW": [7, 0, 1]
    }


def test_the_matrix_window_ends_the_day_before(engine: Engine, t0: datetime) -> None:
    store = SqlSalesStore(engine)
    totals = [DayTotal(f"SKU-{i:04d}", D, i) for i in range(700)]
    totals.append(DayTotal("SKU-0001", date(2026, 11, 21), 99))  # on the end day: excluded
    store.add_import(record("d" * 64, t0), totals)
    m = store.matrix([f"SKU-{i:04d}" for i in range(700)], date(2026, 11, 21), 2)
    assert m[:, 1].tolist() == list(range(700)) and m[:, 0].sum() == 0
