"""Promotions from a CSV file: good rows load, bad rows are reported by line and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stockwatch.adapters.files import FileFormatError
from stockwatch.adapters.promotions_file import read_promotions


def test_good_rows_load_and_bad_rows_are_reported_by_line(tmp_path: Path) -> None:
    path = tmp_path / "promotions.csv"
    path.write_text(
        "name,start,end,multiplier,target,skus,categories,tags\n"
        "双12,2026-12-10,2026-12-12,2.5,demand,YOGA-MAT|LAMP,,\n"
        "清仓,2026-12-01,2026-11-01,0.5,,,家居,\n"
        "年货,2027-01-20,2027-02-05,abc,,,,\n"
        "店庆,2026-12-20,2026-12-21,2,threshold,,,热卖\n"
        "坏的,2026/12/20,2026-12-21,2,,A,,\n"
        "空的,2026-12-20,2026-12-21,2,,,,\n",
        encoding="utf-8",
    )
    loaded = read_promotions(path)
    assert [p.name for p in loaded.rows] == ["双12", "店庆"]
    assert loaded.rows[0].skus == frozenset({"YOGA-MAT", "LAMP"})
    assert loaded.rows[0].start == date(2026, 12, 10)
    assert loaded.rows[1].target == "threshold" and loaded.rows[1].tags == frozenset({"热卖"})
    problems = {p.line: p.message for p in loaded.problems}
    assert set(problems) == {3, 4, 6, 7}
    assert "ends before it starts" in problems[3]
    assert "multiplier 'abc' is not a number" in problems[4]
    assert "start '2026/12/20' is not a date" in problems[6]
    assert "names no items" in problems[7]
    fields = {p.line: p.field for p in loaded.problems}
    assert fields == {3: "end", 4: "multiplier", 6: "start", 7: "skus"}


def test_chinese_headers_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "活动.csv"
    path.write_text("活动,开始,结束,倍数,商品\n年货节,2027-01-20,2027-02-05,1.8,MAT\n", "utf-8")
    [promo] = read_promotions(path).rows
    assert (promo.name, promo.multiplier, promo.skus) == ("年货节", 1.8, frozenset({"MAT"}))


def test_a_file_without_the_needed_columns_is_an_error_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("name,start,end\nx,2026-01-01,2026-01-02\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="no 'multiplier' column"):
        read_promotions(path)
