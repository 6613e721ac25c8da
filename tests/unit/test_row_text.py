"""Row problems of input files in zh-CN (issue 11 leftover: they were English only)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from stockwatch.adapters.files import FileFormatError, read_items, read_stock
from stockwatch.core.row_text import file_problem_text, row_place_text, row_problem_text


@pytest.mark.parametrize(
    ("message", "zh"),
    [
        (
            "duplicate row for RETRO-CLOCK (first on line 2)",
            "RETRO-CLOCK 的重复行（首次出现在第 2 行",
        ),
        ("duplicate item CUP@HZ (first on line 4)", "重复的商品 CUP@HZ（首次出现在第 4 行）"),
        ("duplicate order O1 for CUP (first on row 3)", "CUP 的订单 O1 重复（首次出现在第 3 行）"),
        ("on_hand 'x' is not a number", "on_hand 'x' 不是数字"),
        ("quantity '2.5' is not a whole number", "quantity '2.5' 不是整数"),
        ("on_hand '-3' is negative", "on_hand '-3' 是负数"),
        ("empty sku", "sku 为空"),
        ("missing on_hand", "缺少 on_hand"),
        ("date '2026-13-01' is not YYYY-MM-DD or ISO 8601", "日期 '2026-13-01' 不是"),
        ("unknown item 'NOPE': not in the item catalogue", "未知商品 'NOPE'：不在商品目录中"),
        ("class 'D' is not A, B or C", "分类 'D' 不是 A、B 或 C"),
    ],
)
def test_each_known_row_problem_reads_in_zh_cn(message: str, zh: str) -> None:
    assert zh in row_problem_text(message, "zh-CN")
    assert row_problem_text(message, "en") == message


def test_an_unknown_form_is_shown_as_it_is() -> None:
    assert row_problem_text("something new went wrong", "zh-CN") == "something new went wrong"
    assert row_place_text("row", 3, "zh-CN") == "第 3 行"
    assert row_place_text("row", 3, "en") == "row 3"


def test_what_the_readers_really_write_is_translated(tmp_path: Path) -> None:
    stock = tmp_path / "stock.csv"
    stock.write_text("sku,on_hand\nCUP,5\nCUP,7\nLAMP,x\n", encoding="utf-8")
    items = tmp_path / "items.csv"
    items.write_text("sku,title,class\nCUP,c,A\nCUP,c,A\n,x,B\nLAMP,l,Q\n", encoding="utf-8")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    problems = [*read_stock(stock, now).problems, *read_items(items).problems]
    assert len(problems) == 5
    for problem in problems:
        text = row_problem_text(problem.message, "zh-CN")
        assert text != problem.message, problem.message  # every one of them has its zh-CN form


@pytest.mark.parametrize(
    ("message", "zh"),
    [
        ("/shop/stock.csv: file not found", "/shop/stock.csv：文件不存在"),
        ("/shop: is a directory, not a file", "/shop：是目录，不是文件"),
        ("/s.csv: empty file, expected a header row", "/s.csv：文件为空，应有表头行"),
        (
            "/s.csv: no 'sku' column (accepted names: sku, sku_code, 商家编码)",
            "/s.csv：缺少 'sku' 列（可用的列名：sku, sku_code, 商家编码）",
        ),
        ("/s.json: not valid JSON at line 3: Expecting value", "/s.json：第 3 行不是有效的 JSON"),
        (
            "/s.csv: malformed CSV at line 3 (unexpected end of data): check its quotes (one "
            "never closed, or text after a closing quote)",
            "/s.csv：第 3 行 CSV 格式错误：请检查引号",
        ),
    ],
)
def test_whole_file_problems_read_in_zh_cn(message: str, zh: str) -> None:
    assert file_problem_text(message, "zh-CN").startswith(zh)
    assert file_problem_text(message, "en") == message


def test_check_names_a_missing_stock_file_in_zh_cn(tmp_path: Path) -> None:
    # It said "/nonexist.csv: file not found" whatever the language.
    with pytest.raises(FileFormatError) as caught:
        read_stock(tmp_path / "none.csv", datetime(2026, 12, 1, tzinfo=UTC))
    assert file_problem_text(str(caught.value), "zh-CN") == f"{tmp_path / 'none.csv'}：文件不存在"


def test_render_named_words_the_rest_after_a_name_and_keeps_unknown_forms() -> None:
    import re

    from stockwatch.core.row_text import render_first, render_named

    table = ((re.compile(r"too big: (?P<n>\d+)\Z"), lambda g: f"太大：{g['n']}"),)
    named = re.compile(r"(?P<name>[A-Z]+): (?P<rest>.+)\Z")
    assert render_first(table, "too big: 3") == "太大：3"
    assert render_first(table, "fine") is None
    assert render_named(table, named, "MUG: too big: 3") == "MUG：太大：3"
    assert render_named(table, named, "MUG: BOWL: too big: 3") == "MUG：BOWL：太大：3"
    assert render_named(table, named, "MUG: unknown") == "MUG: unknown"
