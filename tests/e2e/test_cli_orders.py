"""`stockwatch orders`: place for an item, list as JSON, receive in parts, mistakes exit 1."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.accounts import os_user


def test_orders_are_placed_listed_and_received_from_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "stockwatch.toml"
    config.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    run = CliRunner().invoke
    c = ["--config", str(config)]
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
    assert "received 15/40 (partial)" in part.output
    rest = run(app, ["orders", "receive", "1", *c, "--lang", "zh-CN"])
    assert "已收货 40/40（received）" in rest.output
    assert json.loads(run(app, ["orders", "list", "--format", "json", *c]).output) == []
    bad = run(app, ["orders", "receive", "7", *c])
    assert bad.exit_code == 1 and "purchase order #7 does not exist" in bad.output
    no_item = run(app, ["orders", "place", "--qty", "3", *c])
    assert no_item.exit_code == 1 and "name the item" in no_item.output
    bad_day = run(app, ["orders", "place", "--item", "CUP", "--qty", "3", "--expected", "soon", *c])
    assert bad_day.exit_code == 1 and "--expected 'soon'" in bad_day.output
    audit = json.loads(run(app, ["audit", "--format", "json", *c]).output)
    assert [(e["actor"], e["action"], e["detail"]) for e in reversed(audit)] == [
        (f"cli:{os_user()}", "order_placed", "quantity=40 supplier=义乌杯业"),
        (f"cli:{os_user()}", "order_received", "quantity=15"),
        (f"cli:{os_user()}", "order_received", "all open"),
    ]
