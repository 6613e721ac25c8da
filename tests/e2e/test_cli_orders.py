"""`stockwatch orders`: place for an item, list as JSON, receive in parts, mistakes exit 1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine
from typer.testing import CliRunner

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import Item, ItemKey, Phase
from stockwatch.core.purchasing import UnmatchedLine
from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.accounts import os_user
from stockwatch.wiring.compose import open_database
from tests.alert_setup import open_alert


def test_orders_are_placed_listed_and_received_from_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "stockwatch.toml"
    config.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    run = CliRunner().invoke
    c = ["--config", str(config)]
    engine = open_database(load_config(config))
    try:
        SqlStore(engine).sync_items([Item("CUP")], {}, datetime.now(UTC))
    finally:
        engine.dispose()
    placed = run(
        app,
        [
            "orders",
            "place",
            "--item",
            "CUP",
            "--qty",
            "40",
            *c,
            "--expected",
            "2030-01-02",
            "--supplier",
            "义乌杯业",
        ],
    )
    assert placed.exit_code == 0, placed.output
    assert (
        "recorded purchase order #1: CUP × 40 from 义乌杯业, due 2030-01-02 18:00" in placed.output
    )
    listed = json.loads(run(app, ["orders", "list", "--format", "json", *c]).output)
    assert [(o["item"], o["open_quantity"]) for o in listed] == [("CUP", 40)]
    part = run(app, ["orders", "receive", "1", "--qty", "15", *c])
    assert "received 15/40 (partly received)" in part.output
    over = run(app, ["orders", "receive", "1", "--qty", "50", *c, "--lang", "zh-CN"])
    assert over.exit_code == 1 and "--qty：50 超过采购单 #1 未收的 25 件" in over.output
    rest = run(app, ["orders", "receive", "1", *c, "--lang", "zh-CN"])
    assert "已收货 40/40（已全部收货）" in rest.output  # was "（received）" in zh-CN
    assert json.loads(run(app, ["orders", "list", "--format", "json", *c]).output) == []
    bad = run(app, ["orders", "receive", "7", *c])
    assert bad.exit_code == 1 and "purchase order #7 does not exist" in bad.output
    no_item = run(app, ["orders", "place", "--qty", "3", *c])
    assert no_item.exit_code == 1 and "name the item (--item SKU)" in no_item.output
    unknown = run(app, ["orders", "place", "--item", "NOPE", "--qty", "3", *c])
    assert unknown.exit_code == 1 and "--item: unknown item NOPE" in unknown.output
    zh = run(app, ["orders", "place", "--item", "CUP", *c, "--lang", "zh-CN"])
    assert zh.exit_code == 1 and "--qty：请给出数量" in zh.output  # was English, no option
    gone = run(app, ["orders", "receive", "1", *c, "--lang", "zh-CN"])
    assert gone.exit_code == 1 and "采购单 #1 已全部收货，不能再收货" in gone.output
    bad_day = run(app, ["orders", "place", "--item", "CUP", "--qty", "3", "--expected", "soon", *c])
    assert bad_day.exit_code == 1 and "--expected 'soon'" in bad_day.output
    audit = json.loads(run(app, ["audit", "--format", "json", *c]).output)
    assert [(e["actor"], e["action"], e["detail"]) for e in reversed(audit)] == [
        (f"cli:{os_user()}", "order_placed", "quantity=40 supplier=义乌杯业"),
        (f"cli:{os_user()}", "order_received", "quantity=15"),
        (f"cli:{os_user()}", "order_received", "all open"),
    ]


def test_1688_lines_matched_to_no_item_are_listed_and_hinted_at(tmp_path: Path) -> None:
    # Regression: such lines were only in the daemon's log; `orders` never showed them.
    config = tmp_path / "stockwatch.toml"
    config.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    url = f"sqlite+pysqlite:///{tmp_path / 'orders.sqlite3'}"
    run = CliRunner().invoke
    c = ["--config", str(config), "--db", url]
    assert "no unmatched 1688 purchase lines" in run(app, ["orders", "unmatched", *c]).output
    assert not (tmp_path / "orders.sqlite3").exists()  # looking created no database
    open_database(load_config(config), url).dispose()  # as the daemon's import makes it
    engine = create_engine(url)
    try:
        SqlPurchaseOrderStore(engine).record_unmatched(
            [
                UnmatchedLine("1688:77:0", "620299", "-", 30, "杯业", "waitsellersend", "no_item"),
                UnmatchedLine(
                    "1688:77:1",
                    "620233",
                    "blue",
                    12,
                    "杯业",
                    "success",
                    "several",
                    ("A@HZ", "A@SH"),
                ),
            ],
            [],
            datetime(2026, 12, 1, 2, tzinfo=UTC),
        )
    finally:
        engine.dispose()
    listed = run(app, ["orders", "list", *c])
    assert "2 more 1688 purchase line(s) match no item" in listed.output
    shown = run(app, ["orders", "unmatched", *c], terminal_width=200)
    assert "77:0" in shown.output and "no item in the items file lists" in shown.output
    assert "several items list this offer/spec: A@HZ, A@SH" in shown.output
    zh = run(app, ["orders", "unmatched", *c, "--lang", "zh-CN"], terminal_width=200)
    assert "商品文件中没有商品对应此 offer/规格" in zh.output
    as_json = json.loads(run(app, ["orders", "unmatched", "--format", "json", *c]).output)
    assert [(x["ref"], x["quantity"], x["reason"]) for x in as_json] == [
        ("1688:77:0", 30, "no_item"),
        ("1688:77:1", 12, "several"),
    ]


def test_placing_an_order_says_when_it_acknowledged_the_items_alert(tmp_path: Path) -> None:
    config = tmp_path / "stockwatch.toml"
    config.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    run = CliRunner().invoke
    c = ["--config", str(config)]
    engine = open_database(load_config(config))  # the default database, as the daemon's
    try:
        open_alert(engine, ItemKey("CUP"), datetime.now(UTC), position=10, t1=100)
    finally:
        engine.dispose()
    small = run(app, ["orders", "place", "--item", "CUP", "--qty", "50", *c])
    assert small.exit_code == 0 and "alert is acknowledged" not in small.output  # 60 ≤ T1
    enough = run(app, ["orders", "place", "--item", "CUP", "--qty", "120", *c, "--lang", "zh-CN"])
    assert "CUP 的预警已确认：到货前不再提醒；到货后仍不足会再提醒" in enough.output
    alerts = json.loads(run(app, ["alerts", "list", "--format", "json", *c]).output)
    assert [(a["item"], a["acked"]) for a in alerts] == [("CUP", True)]


def test_a_pending_breach_is_not_acknowledged_from_the_cli_and_says_why(tmp_path: Path) -> None:
    config = tmp_path / "stockwatch.toml"
    config.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    engine = open_database(load_config(config))
    try:
        open_alert(engine, ItemKey("CUP"), datetime.now(UTC), phase=Phase.PENDING)
    finally:
        engine.dispose()
    run = CliRunner().invoke
    refused = run(app, ["alerts", "ack", "CUP", "--config", str(config), "--lang", "zh-CN"])
    assert refused.exit_code == 1 and "CUP：预警还在观察期，尚未发出，无需确认" in refused.output
    snoozed = run(app, ["alerts", "snooze", "CUP", "--for", "2h", "--config", str(config)])
    assert snoozed.exit_code == 0, snoozed.output


def _warehouse_shop(tmp_path: Path, alert: ItemKey | None = None) -> Path:
    """A shop keeping CUP in HZ only and LAMP in HZ and SH (``alert``: an item's open alert)."""
    config = tmp_path / "stockwatch.toml"
    config.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    now = datetime.now(UTC)
    engine = open_database(load_config(config))
    try:
        if alert is not None:
            open_alert(engine, alert, now)
        kept = [Item("CUP", warehouse="HZ"), Item("LAMP", warehouse="HZ")]
        lamp_sh = Item("LAMP", warehouse="SH", supplier="灯厂")
        SqlStore(engine).sync_items([*kept, lamp_sh], {}, now)
    finally:
        engine.dispose()
    return config


def test_alerts_ack_takes_a_bare_sku_kept_in_one_warehouse_as_orders_place_does(
    tmp_path: Path,
) -> None:
    config = _warehouse_shop(tmp_path, alert=ItemKey.parse("CUP@HZ"))
    run = CliRunner().invoke
    acked = run(app, ["alerts", "ack", "CUP", "--config", str(config)])
    assert acked.exit_code == 0 and "CUP@HZ" in acked.output  # was "Unknown item: CUP"
    which = run(app, ["alerts", "snooze", "LAMP", "--config", str(config)])
    assert which.exit_code == 1 and "LAMP@HZ, LAMP@SH" in which.output


def test_orders_list_of_a_bare_sku_means_its_warehouse_and_a_typo_is_an_error(
    tmp_path: Path,
) -> None:
    # Found by a new user: `orders list --item LAMP` (kept in two warehouses) and `--item NOPE`
    # printed an empty table, which reads as "nothing ordered".
    config = _warehouse_shop(tmp_path)
    run = CliRunner().invoke
    c = ["--config", str(config)]
    assert run(app, ["orders", "place", "--item", "CUP", "--qty", "5", *c]).exit_code == 0
    listed = json.loads(run(app, ["orders", "list", "--item", "CUP", "-f", "json", *c]).output)
    assert [o["item"] for o in listed] == ["CUP@HZ"]
    blank = ["orders", "place", "--item", "LAMP@SH", "--qty", "2", "--supplier", " ", *c]
    assert run(app, blank).exit_code == 0  # an empty --supplier is the item's (was "-")
    [lamp] = json.loads(run(app, ["orders", "list", "--item", "LAMP@SH", "-f", "json", *c]).output)
    assert lamp["supplier"] == "灯厂"
    which = run(app, ["orders", "list", "--item", "LAMP", *c])
    assert which.exit_code == 1 and "LAMP@HZ, LAMP@SH" in which.output
    typo = run(app, ["orders", "list", "--item", "NOPE", *c, "--lang", "zh-CN"])
    assert typo.exit_code == 1 and "NOPE" in typo.output


def test_an_expected_day_or_time_without_an_offset_is_the_shops_time(
    tmp_path: Path,
) -> None:
    # Found by a new user: the same "2026-12-08T10:00" was 10:00 in Shanghai from the CLI
    # and 10:00 UTC (18:00 in Shanghai) from the API; a day alone 18:00 against 08:00.
    config = tmp_path / "stockwatch.toml"
    config.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    engine = open_database(load_config(config))
    try:
        SqlStore(engine).sync_items([Item("CUP")], {}, datetime.now(UTC))
    finally:
        engine.dispose()
    run = CliRunner().invoke
    c = ["--config", str(config)]
    for given in ("2030-12-08T10:00", "2030-12-08"):
        placed = run(
            app, ["orders", "place", "--item", "CUP", "--qty", "1", "--expected", given, *c]
        )
        assert placed.exit_code == 0, placed.output
    listed = json.loads(run(app, ["orders", "list", "-f", "json", *c]).output)
    assert sorted(o["expected_at"] for o in listed) == [
        "2030-12-08T02:00:00+00:00",  # 10:00 in Shanghai
        "2030-12-08T10:00:00+00:00",  # a day alone: 18:00 in Shanghai
    ]
