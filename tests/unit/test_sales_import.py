"""Sales files: every bad row reported with its line/row, the rest totalled per Shanghai day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stockwatch.adapters.files import FileFormatError
from stockwatch.adapters.sales_import import file_sha256, read_sales_file

KNOWN = {"MOON-LAMP", "CAT-MUG"}


def test_a_csv_reports_each_bad_row_and_totals_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(
        "date,sku,quantity,order_id\n"
        "2026-11-20,MOON-LAMP,3,O1\n"  # line 2
        "2026-11-20,MOON-LAMP,2,O2\n"
        "2026-11-20,MOON-LAMP,2,O2\n"  # line 4: duplicate order
        "2026-11-31,CAT-MUG,1,O3\n"  # line 5: bad date
        "2026-11-21,CAT-MUG,-2,O4\n"  # line 6: negative
        "2026-11-21,CAT-MUG,1.5,O5\n"  # line 7: not whole
        "2026-11-21,UFO-TOY,1,O6\n"  # line 8: unknown item
        "2026-11-20T23:30:00+00:00,CAT-MUG,4,O7\n",  # line 9: 07:30 on the 21st in Shanghai
        encoding="utf-8",
    )
    got = read_sales_file(path, KNOWN)
    assert [p.line for p in got.problems] == [4, 5, 6, 7, 8]
    text = [str(p) for p in got.problems]
    assert "duplicate order O2" in text[0] and "first on line 3" in text[0]
    assert "2026-11-31" in text[1]
    assert "negative" in text[2] and "whole number" in text[3] and "UFO-TOY" in text[4]
    assert got.rows_read == 8
    assert [(t.sku, t.day, t.quantity) for t in got.totals] == [
        ("CAT-MUG", date(2026, 11, 21), 4),
        ("MOON-LAMP", date(2026, 11, 20), 5),
    ]
    assert got.sha256 == file_sha256(path) and len(got.sha256) == 64


def test_without_a_catalogue_every_sku_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("date,sku,quantity\n2026-11-20,UFO-TOY,1\n", encoding="utf-8")
    assert [t.sku for t in read_sales_file(path, None).totals] == ["UFO-TOY"]


def test_a_parquet_file_reports_rows_counted_from_one(tmp_path: Path) -> None:
    path = tmp_path / "sales.parquet"
    table = pa.table(
        {
            "date": pa.array(
                [
                    date(2026, 11, 20),
                    date(2026, 11, 20),
                    None,
                    date(2026, 11, 21),
                    date(2026, 11, 21),
                ],
                pa.date32(),
            ),
            "SKU": ["MOON-LAMP", "MOON-LAMP", "CAT-MUG", "UFO-TOY", "CAT-MUG"],
            "quantity": pa.array([3, 4, 1, 1, -1], pa.int32()),
            "order_id": ["O1", "O2", "O3", "O4", "O5"],
        }
    )
    pq.write_table(table, path)
    got = read_sales_file(path, KNOWN)
    assert [(p.line, p.unit) for p in got.problems] == [(3, "row"), (4, "row"), (5, "row")]
    assert str(got.problems[0]) == "row 3: empty date"
    assert [(t.sku, t.day, t.quantity) for t in got.totals] == [
        ("MOON-LAMP", date(2026, 11, 20), 7)
    ]


def test_parquet_timestamps_are_bucketed_in_shanghai_days(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    table = pa.table(
        {
            "time": pa.array(
                [
                    datetime(2026, 11, 20, 15, 59, tzinfo=UTC),
                    datetime(2026, 11, 20, 16, 1, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "sku": ["MOON-LAMP", "MOON-LAMP"],
            "qty": pa.array([1.0, 2.0]),
            "order_id": ["A", "A"],  # the same order id twice is a duplicate
        }
    )
    pq.write_table(table, path)
    got = read_sales_file(path, KNOWN)
    assert [p.line for p in got.problems] == [2]
    assert "duplicate order A" in got.problems[0].message
    assert [(t.day, t.quantity) for t in got.totals] == [(date(2026, 11, 20), 1)]


def test_parquet_text_columns_are_validated_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "text.parquet"
    table = pa.table(
        {
            "日期": ["2026-11-20", "yesterday", "2026/11/21"],
            "商家编码": ["CAT-MUG", "CAT-MUG", "CAT-MUG"],
            "quantity": ["2", "1", "x"],
        }
    )
    pq.write_table(table, path)
    got = read_sales_file(path, KNOWN)
    assert [(p.line, "date" in p.message or "number" in p.message) for p in got.problems] == [
        (2, True),
        (3, True),
    ]
    assert [t.quantity for t in got.totals] == [2]


def test_a_file_without_a_quantity_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"date": ["2026-11-20"], "sku": ["CAT-MUG"]}), path)
    with pytest.raises(FileFormatError, match="quantity"):
        read_sales_file(path, KNOWN)
    with pytest.raises(FileFormatError, match="not found"):
        read_sales_file(tmp_path / "missing.csv", KNOWN)
