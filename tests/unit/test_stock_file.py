"""FileStockSource: a snapshot file re-read each cycle; what it lacks is a failed read, not 0."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from stockwatch.adapters.stock_file import FileStockSource
from stockwatch.core.model import Item, ReadingSource

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
ITEMS = [Item("CLAY-POT"), Item("CLAY-POT", warehouse="GZ"), Item("GHOST-SKU")]


def _read(path: Path) -> list[tuple[str, int | None, str | None]]:
    readings = asyncio.run(FileStockSource(path).read(ITEMS, NOW))
    assert all(r.source is ReadingSource.POLL for r in readings)
    return [(str(r.key), r.on_hand, r.error) for r in readings]


def test_it_reads_each_item_and_fails_the_ones_missing_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_text("sku,warehouse,on_hand\nCLAY-POT,,12\nCLAY-POT,GZ,3\n", encoding="utf-8")
    assert _read(path) == [
        ("CLAY-POT", 12, None),
        ("CLAY-POT@GZ", 3, None),
        ("GHOST-SKU", None, "not in stock.csv"),
    ]


def test_it_sees_the_file_change_between_cycles(tmp_path: Path) -> None:
    path = tmp_path / "stock.json"
    path.write_text('[{"sku": "CLAY-POT", "on_hand": 12}]', encoding="utf-8")
    assert _read(path)[0][1] == 12
    path.write_text('{"items": [{"sku": "CLAY-POT", "on_hand": 7}]}', encoding="utf-8")
    assert _read(path)[0][1] == 7


def test_a_bad_row_fails_that_item_only(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_text("sku,warehouse,on_hand\nCLAY-POT,,lots\nCLAY-POT,GZ,3\n", encoding="utf-8")
    readings = _read(path)
    assert readings[0][1] is None and readings[1][1] == 3


def test_a_missing_file_fails_every_read_with_the_reason(tmp_path: Path) -> None:
    readings = _read(tmp_path / "gone.csv")
    assert [r[1] for r in readings] == [None, None, None]
    assert all("file not found" in (r[2] or "") for r in readings)
