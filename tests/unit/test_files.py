"""Reading merchants' files: bad rows are reported with line numbers, good rows are kept."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from stockwatch.adapters.files import (
    FileFormatError,
    SalesLine,
    daily_series,
    read_items,
    read_sales,
    read_stock,
)
from stockwatch.core.model import ItemClass, ItemKey, OfferStatus

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_stock_csv_keeps_good_rows_and_reports_bad_ones_by_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "stock.csv",
        "sku,warehouse,on_hand,committed,in_transit\n"
        "RETRO-CLOCK,,120,10,0\n"
        ",,5,0,0\n"
        "USB-CABLE,,lots,0,0\n"
        "DESK-LAMP,HZ,25,0,40\n"
        "YOGA-MAT,,3.5,0,0\n"
        "THERMOS,,7,-1,0\n"
        "MUG,,7,0,0,extra\n",
    )
    loaded = read_stock(path, NOW)
    assert [str(r.key) for r in loaded.rows] == ["RETRO-CLOCK", "DESK-LAMP@HZ"]
    assert loaded.rows[1].available == 65
    assert [(p.line, p.message) for p in loaded.problems] == [
        (3, "empty sku"),
        (4, "on_hand 'lots' is not a number"),
        (6, "on_hand '3.5' is not a whole number"),
        (7, "committed '-1' is negative"),
        (8, "more cells than header columns"),
    ]


def test_stock_csv_accepts_chinese_headers_and_gbk_from_excel(tmp_path: Path) -> None:
    path = write(tmp_path, "库存.csv", "商家编码,库存\n复古闹钟,12\n", encoding="gb18030")
    loaded = read_stock(path, NOW)
    assert loaded.rows[0].key == ItemKey("复古闹钟") and loaded.rows[0].on_hand == 12


def test_oversold_stock_is_accepted_as_negative(tmp_path: Path) -> None:
    loaded = read_stock(write(tmp_path, "s.csv", "sku,on_hand\nX,-3\n"), NOW)
    assert loaded.rows[0].on_hand == -3


def test_observed_time_defaults_to_now_and_naive_times_are_shanghai(tmp_path: Path) -> None:
    path = write(
        tmp_path, "s.csv", "sku,on_hand,observed_at\nA,1,\nB,1,2026-11-24T09:00:00\nC,1,yesterday\n"
    )
    loaded = read_stock(path, NOW)
    assert loaded.rows[0].observed_at == NOW
    assert loaded.rows[1].observed_at == NOW  # 09:00 Shanghai = 01:00 UTC
    assert loaded.problems[0].line == 4 and "ISO 8601" in loaded.problems[0].message


def test_offer_status_column(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "sku,on_hand,offer_status\nA,0,delisted\nB,1,sold\n")
    loaded = read_stock(path, NOW)
    assert loaded.rows[0].offer_status is OfferStatus.DELISTED
    assert "offer_status 'sold'" in loaded.problems[0].message


def test_stock_json_reports_the_line_of_each_bad_element(tmp_path: Path) -> None:
    doc = {"items": [{"sku": "A", "on_hand": 3}, {"sku": "B"}, "junk", {"sku": "C", "on_hand": 0}]}
    path = write(tmp_path, "s.json", json.dumps(doc, indent=2))
    loaded = read_stock(path, NOW)
    assert [r.key.sku for r in loaded.rows] == ["A", "C"]
    text = path.read_text().splitlines()
    lines = [p.line for p in loaded.problems]
    assert '"sku": "B"' in text[lines[0]] and text[lines[1] - 1].strip().startswith('"junk"')


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "file not found"),
        ("empty.csv", "", "empty file"),
        ("nosku.csv", "code,on_hand\nA,1\n", "no 'sku' column"),
        ("bad.json", "{not json", "not valid JSON at line 1"),
        ("obj.json", '{"rows": []}', "expected a JSON list"),
    ],
)
def test_unreadable_files_name_the_file(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name if content is None else write(tmp_path, name, content)
    with pytest.raises(FileFormatError, match=message) as info:
        read_stock(path, NOW)
    assert name in str(info.value)


def test_items_catalogue_maps_skus_to_offers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "items.csv",
        "sku,title,offer_id,spec_id,class,tags,lead_time_days,lead_time_sd_days,min_order_qty\n"
        "CABLE-1M,数据线,610000000002,spec-1m,A,热卖|促销,5,1,100\n"
        "CABLE-2M,数据线,abc,,B,,5,1,1\n"
        "LAMP,台灯,610000000011,,D,,5,1,1\n"
        "SHAKY,x,610000000012,,B,,2,5,1\n"
        "CABLE-1M,dup,610000000002,,A,,5,1,1\n",
    )
    loaded = read_items(path)
    (item,) = loaded.rows
    assert item.offer is not None and item.offer.spec_id == "spec-1m"
    assert item.item_class is ItemClass.A and item.tags == frozenset({"热卖", "促销"})
    assert item.min_order_qty == 100
    messages = {p.line: p.message for p in loaded.problems}
    assert "not a 1688 offer number" in messages[3]
    assert "not A, B or C" in messages[4]
    assert "exceeds lead_time_days" in messages[5]
    assert "duplicate item CABLE-1M (first on line 2)" in messages[6]


def test_sales_lines_are_validated_and_deduplicated_by_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sales.csv",
        "date,sku,quantity,order_id\n"
        "2026-11-20,A,3,O1\n"
        "2026-11-20,A,3,O1\n"
        "2026-13-01,A,1,O2\n"
        "2026-11-21,A,-2,O3\n"
        "2026-11-21T23:30:00+00:00,A,4,O4\n"
        "2026-11-21,A,1.5,O5\n",
    )
    loaded = read_sales(path)
    assert [(s.day, s.quantity) for s in loaded.rows] == [
        (date(2026, 11, 20), 3),
        (date(2026, 11, 21), -2),
        (date(2026, 11, 22), 4),
    ]
    assert [p.line for p in loaded.problems] == [3, 4, 7]


def test_daily_series_nets_and_clamps_each_day_and_zero_fills() -> None:
    lines = [
        SalesLine("A", date(2026, 11, 20), 5),
        SalesLine("A", date(2026, 11, 20), -7),
        SalesLine("A", date(2026, 11, 22), 4),
        SalesLine("A", date(2026, 11, 24), 99),
    ]
    # Days 19..23: the 20th nets to −2 → 0, the 22nd sold 4, the 24th is outside the window.
    assert daily_series(lines, date(2026, 11, 24), 5) == {"A": [0, 0, 0, 4, 0]}


def test_chinese_erp_columns_for_committed_and_in_transit_are_read(tmp_path: Path) -> None:
    # Finding 17: 占用库存 and 在途库存 were dropped without a word; the position was wrong.
    path = tmp_path / "stock.csv"
    path.write_text(
        "商家编码,库存,占用库存,在途库存,备注\nDESK-LAMP,50,20,30,促销前补货\n", "utf-8"
    )
    loaded = read_stock(path, datetime(2026, 11, 24, tzinfo=UTC))
    [reading] = loaded.rows
    assert (reading.on_hand, reading.committed, reading.in_transit) == (50, 20, 30)
    assert loaded.unknown_columns == ["备注"]


def test_every_unrecognised_column_is_listed_in_every_kind_of_file(tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("sku,title,colour,lead_time\nDESK-LAMP,台灯,red,7\n", "utf-8")
    assert read_items(items).unknown_columns == ["colour", "lead_time"]
    sales = tmp_path / "sales.csv"
    sales.write_text("date,sku,quantity,price\n2026-11-01,DESK-LAMP,3,9.9\n", "utf-8")
    assert read_sales(sales).unknown_columns == ["price"]
    snapshot = tmp_path / "stock.json"
    snapshot.write_text('[{"sku": "DESK-LAMP", "on_hand": 5, "reserved": 2}]', "utf-8")
    assert read_stock(snapshot, datetime(2026, 11, 24, tzinfo=UTC)).unknown_columns == ["reserved"]


def test_a_quote_never_closed_is_an_error_naming_its_line_not_a_swallowed_file(
    tmp_path: Path,
) -> None:
    # Found probing as a merchant: a stray quote on line 3 made one cell of every row after it,
    # so the rest of the items file was silently gone.
    items = write(tmp_path, "items.csv", 'sku,title\nCUP,杯子\n"LAMP,台灯\nFAN,风扇\n')
    with pytest.raises(FileFormatError, match=r"items.csv: malformed CSV at line 3 \("):
        read_items(items)
    titled = write(tmp_path, "titled.csv", 'sku,title\nCUP,"保温杯\n500ml"\nFAN,风扇\n')
    assert [i.sku for i in read_items(titled).rows] == ["CUP", "FAN"]  # a closed multi-line cell
