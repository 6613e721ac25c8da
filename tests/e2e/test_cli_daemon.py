"""``stockwatch alerts|events|status`` against a SQLite database the poll cycle filled."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.entrypoints.cli.app import app
from stockwatch.service.polling import poll_items
from stockwatch.wiring.accounts import os_user
from stockwatch.wiring.compose import build_daemon, open_store
from tests.e2e.daemon_setup import write_shop, write_stock


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A shop whose RUBBER-DUCK is at T3 after one poll cycle."""
    write_stock(tmp_path, datetime.now(UTC), duck=5, lamp=500)
    path = write_shop(tmp_path)
    parts = build_daemon(load_config(path), http_port=None)
    asyncio.run(poll_items("fast", parts.store.items(), parts.source, parts.evaluator, parts.clock))
    return path


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_alerts_list_shows_the_open_alert(config: Path) -> None:
    code, output = _cli("alerts", "list", "-c", str(config), "-f", "json")
    assert code == 0
    [alert] = json.loads(output)
    assert (alert["item"], alert["tier"], alert["phase"]) == ("RUBBER-DUCK", "T3", "firing")
    # The table gives both numbers, the position and the shelf (it gave the position alone).
    parts = build_daemon(load_config(config), http_port=None)
    assert isinstance(parts.store, SqlStore)
    now = datetime.now(UTC)
    SqlPurchaseOrderStore(parts.store.engine).add(
        PurchaseOrder(ItemKey("RUBBER-DUCK"), "", 20, now, now + timedelta(days=9)), now
    )
    write_stock(config.parent, now + timedelta(minutes=1), duck=5, lamp=500)
    asyncio.run(poll_items("fast", parts.store.items(), parts.source, parts.evaluator, parts.clock))
    code, table = _cli("alerts", "list", "-c", str(config), "--lang", "en")
    [row] = [line for line in table.splitlines() if "RUBBER-DUCK" in line]
    cells = [c.strip() for c in row.split("│")]
    assert "shelf" in table and (cells[4], cells[5]) == ("25", "5")  # 5 + 20 on order; 5


def test_ack_and_snooze_change_the_alert_and_are_logged(config: Path) -> None:
    code, output = _cli("alerts", "ack", "RUBBER-DUCK", "-c", str(config), "--by", "小李")
    assert code == 0 and "Acknowledged RUBBER-DUCK" in output
    code, output = _cli("alerts", "snooze", "RUBBER-DUCK", "--for", "2h", "-c", str(config))
    assert code == 0 and "Snoozed RUBBER-DUCK" in output
    code, output = _cli(
        "events", "-c", str(config), "-f", "json", "--kind", "ack", "--kind", "snooze"
    )
    assert [(e["kind"], e["actor"]) for e in json.loads(output)] == [
        ("snooze", f"cli:{os_user()}"),
        ("ack", "小李"),
    ]
    # The audit log names the action and the OS user who ran the command.
    code, output = _cli("audit", "-c", str(config), "-f", "json")
    audited = [(e["actor"], e["action"], e["target"]) for e in json.loads(output)]
    me = f"cli:{os_user()}"
    assert audited == [(me, "snooze", "RUBBER-DUCK"), (me, "acknowledge", "RUBBER-DUCK")]
    table = _cli("audit", "-c", str(config), "--lang", "zh-CN")[1]
    assert "确认预警" in table and "暂停提醒" in table  # read as words, not code names
    [alert] = json.loads(_cli("alerts", "list", "-c", str(config), "-f", "json")[1])
    assert alert["acked"] and alert["snoozed_until"]
    # The log's table shows the snooze's end on the shop's clock, and who did it beside it.
    end = datetime.fromisoformat(alert["snoozed_until"])
    shop = end.astimezone(ZoneInfo(load_config(config).model.general.timezone))
    wide = CliRunner().invoke(
        app,
        ["events", "-c", str(config), "--kind", "snooze", "--lang", "zh-CN"],
        terminal_width=200,
    )
    assert f"暂停至 {shop:%Y-%m-%d %H:%M} · cli:{os_user()}" in wide.output


def test_a_snooze_that_ends_now_is_refused_in_the_command_lines_language(config: Path) -> None:
    # Found verifying #11: `alerts snooze X --for 0s` said "snooze end must be in the future"
    # in English on a zh-CN command line.
    args = ("alerts", "snooze", "RUBBER-DUCK", "--for", "0s", "-c", str(config))
    code, output = _cli(*args, "--lang", "zh-CN")
    assert code == 1 and "暂停时长必须大于 0" in output
    code, output = _cli(*args, "--lang", "en")
    assert code == 1 and "snooze end must be in the future" in output


def test_acknowledging_an_item_without_an_alert_fails_clearly(config: Path) -> None:
    code, output = _cli("alerts", "ack", "GLOW-LAMP", "-c", str(config))
    assert code == 1 and "GLOW-LAMP: no open alert" in output
    # A typo is an unknown item, not an item without an alert (found probing as a merchant).
    code, output = _cli("alerts", "ack", "GLOW-LAMPP", "-c", str(config))
    assert code == 1 and "Unknown item: GLOW-LAMPP" in output
    code, output = _cli("alerts", "snooze", "GLOW-LAMPP", "-c", str(config), "--lang", "zh-CN")
    assert code == 1 and "未知商品：GLOW-LAMPP" in output


def test_events_filter_by_item_and_since(config: Path) -> None:
    code, output = _cli("events", "-c", str(config), "--item", "RUBBER-DUCK", "--since", "1h")
    assert code == 0 and "raised" in output
    code, output = _cli("events", "-c", str(config), "--item", "GLOW-LAMP")
    assert code == 0 and "No events." in output
    code, output = _cli("events", "-c", str(config), "--since", "yesterday-ish")
    assert code == 1 and "--since" in output
    code, output = _cli("events", "-c", str(config), "--kind", "raised", "--kind", "rasied")
    assert code == 1 and "--kind: unknown event kind rasied (known: raised, " in output


def test_events_since_without_an_offset_is_the_shops_local_time(config: Path) -> None:
    """A merchant types the time the pages show: the shop's (Asia/Shanghai), not UTC."""
    tz = ZoneInfo(load_config(config).model.general.timezone)
    local_now = datetime.now(tz).replace(tzinfo=None, microsecond=0)
    before, after = (local_now + timedelta(minutes=m) for m in (-30, 30))
    code, output = _cli("events", "-c", str(config), "-f", "json", "--since", before.isoformat())
    assert code == 0 and [e["kind"] for e in json.loads(output)] == ["raised"]
    code, output = _cli("events", "-c", str(config), "-f", "json", "--since", after.isoformat())
    assert code == 0 and json.loads(output) == []


def test_a_since_at_either_end_of_the_calendar_is_one_clear_line(config: Path) -> None:
    # Finding 5's `since=0001-01-01`, on the command line: `events`, `audit` and `review`
    # ended in an OverflowError traceback (year 1 in UTC+8, the review's 90-day look-back,
    # its advice replaying days after 9999-12-31).
    for args in (
        ("events", "--since", "0001-01-01"),
        ("audit", "--since", "0001-01-01"),
        ("review", "--since", "0001-01-01"),
        ("review", "--since", "9999-12-31"),
    ):
        code, output = _cli(*args, "-c", str(config))
        assert code == 1 and "out of range" in output and "Traceback" not in output, args
    code, output = _cli("review", "-c", str(config), "--since", "2026-01-01")
    assert code == 0, output


def test_status_shows_the_last_poll_and_the_outbox_backlog(config: Path) -> None:
    code, output = _cli("status", "-c", str(config), "-f", "json")
    assert code == 0
    status = json.loads(output)
    [group] = status["groups"]
    assert (group["name"], group["last_items"], group["last_failed"]) == ("fast", 2, 0)
    assert group["next_at"] > group["last_started_at"]
    assert status["outbox"]["pending"] == 2  # one T3 notice, two channels, not yet delivered
    assert status["daemon_url"] is None


def test_status_does_not_call_a_killed_daemon_running(config: Path, tmp_path: Path) -> None:
    # Found by a new user: after kill -9 the daemon.json it could not remove said "running".
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    run_file = tmp_path / "data" / "daemon.json"
    run_file.write_text(json.dumps({"pid": int(gone.stdout), "url": "http://127.0.0.1:1"}))
    assert json.loads(_cli("status", "-c", str(config), "-f", "json")[1])["daemon_url"] is None
    run_file.write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:1"}))
    alive = json.loads(_cli("status", "-c", str(config), "-f", "json")[1])
    assert alive["daemon_url"] == "http://127.0.0.1:1"


def test_without_a_stock_file_the_daemon_polls_the_1688_gateway(tmp_path: Path) -> None:
    from stockwatch.adapters.alibaba1688.stock import Alibaba1688StockSource
    from stockwatch.adapters.stock_file import FileStockSource
    from stockwatch.wiring.compose import stock_source

    plain = tmp_path / "plain.toml"
    plain.write_text('[general]\ndata_dir = "d"\n', encoding="utf-8")
    source, close = stock_source(load_config(plain, env={}))
    assert isinstance(source, Alibaba1688StockSource) and close is not None
    asyncio.run(close())
    erp = tmp_path / "erp.toml"
    erp.write_text('[daemon]\nstock_file = "stock.csv"\n', encoding="utf-8")
    source, close = stock_source(load_config(erp, env={}))
    assert isinstance(source, FileStockSource) and source.path == tmp_path / "stock.csv"
    assert close is None


def test_the_demo_runs_end_to_end_against_the_simulator_and_exits(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from stockwatch.entrypoints.cli.app import main; main()",
            "--lang",  # the root's --lang reaches the demo's banner and summary
            "en",
            "demo",
            "--once",
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "stockwatch demo" in done.stdout and "stockwatch status -c" in done.stdout
    store = open_store(load_config(data / "stockwatch.toml"))
    try:
        # Readings came from the simulator through the 1688 client, every item read.
        run = store.last_poll_runs()["sample"]
        assert (run.items, run.failed) == (14, 0)
        polled = store.readings(ItemKey("LED-STRIP-5M"))
        assert polled and all(not r.reading.is_failed for r in polled)
        # The token came through the simulator's authorize page and getToken, and was stored.
        assert json.loads((data / "1688-tokens.json").read_text(encoding="utf-8"))
        # At least one notice was accepted by the fake DingTalk robot (errcode 0 → "sent").
        sent = [d for d in store.deliveries() if d["status"] == "sent"]
        assert {"console", "dingtalk", "wecom", "webhook", "tasks"} <= {d["channel"] for d in sent}
        accepted = re.search(r"dingtalk:\s+(\d+) message", done.stdout)
        assert accepted and int(accepted.group(1)) >= 1
        assert "[console] [Low stock]" in done.stdout
        # The demo's merchant orders what the tasks ask for (purchase orders, not only tasks).
        assert re.search(r"merchant:\s+(\d+) order\(s\) placed from tasks", done.stdout)
        assert store.engine is not None
        # The simulator's signed pushes were received and stored: orders and stock changes.
        topics = {m.topic for m in store.push_messages()}
        assert {"ORDER_PAY", "PRODUCT_PRODUCT_INVENTORY_CHANGE"} <= topics
    finally:
        store.engine.dispose()
    code, output = _cli("events", "-c", str(data / "stockwatch.toml"), "-f", "json")
    assert code == 0
    assert "raised" in {e["kind"] for e in json.loads(output)}


def test_the_daemon_log_never_carries_request_urls_with_robot_tokens() -> None:
    import logging

    from stockwatch.entrypoints.cli import daemon as cli_daemon

    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore")]
    before = [lg.level for lg in loggers]
    try:
        cli_daemon._logging()
        # httpx logs "HTTP Request: POST https://oapi.dingtalk.com/robot/send?access_token=…"
        # at INFO; the daemon must not.
        assert all(not lg.isEnabledFor(logging.INFO) for lg in loggers)
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)


def test_zh_cn_tables_have_no_english_words_and_times_are_the_shops(config: Path) -> None:
    # Finding 19: event words, phases and table headers stayed English in zh-CN; times were UTC.
    code, output = _cli("events", "-c", str(config), "--lang", "zh-CN")
    assert code == 0 and "预警" in output and "raised" not in output
    [event] = json.loads(_cli("events", "-c", str(config), "-f", "json")[1])
    shop_time = datetime.fromisoformat(event["at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert shop_time.strftime("%Y-%m-%d %H:%M:%S") in output
    code, output = _cli("alerts", "list", "-c", str(config), "--lang", "zh-CN")
    assert "预警中" in output and "firing" not in output
    for args, english in (
        (("outbox", "list"), "channel"),
        (("tasks", "list"), "supplier"),
        (("notify", "status"), "reason"),
    ):
        code, output = _cli(*args, "-c", str(config), "--lang", "zh-CN")
        assert code == 0 and english not in output, (args, output)
    # The outbox showed the built-in channel's name and the log deliverer's answer raw.
    from stockwatch.wiring.compose import log_deliverer

    store = open_store(load_config(config))
    try:
        assert asyncio.run(log_deliverer(store)(datetime.now(UTC) + timedelta(minutes=1))) == 2
    finally:
        store.engine.dispose()
    code, output = _cli("outbox", "list", "-c", str(config), "--lang", "zh-CN")
    assert code == 0 and "控制台" in output and "已发送" in output and "已写入日志" in output
    for english in ("console", "sent", "logged"):
        assert english not in output, (english, output)
    code, output = _cli("outbox", "list", "-c", str(config), "--lang", "en")
    assert code == 0 and "console" in output and "sent" in output and "logged" in output
    assert "dingtalk" in output  # a provider's name is a product name in either language


def test_read_only_commands_do_not_create_a_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Finding 19: `status` and friends created .stockwatch/ in whatever folder they ran in.
    monkeypatch.delenv("STOCKWATCH_CONFIG", raising=False)
    monkeypatch.delenv("STOCKWATCH_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    for args in (
        ("status",),
        ("alerts", "list"),
        ("events",),
        ("outbox", "list"),
        ("tasks", "list"),
        ("tasks", "export"),
        ("notify", "status"),
        ("review",),
        ("thresholds", "review"),
        # still created it: the accounts' and the purchase orders' lists
        ("audit",),
        ("users", "list"),
        ("tokens", "list"),
        ("orders",),
        ("orders", "list"),
        ("orders", "unmatched"),
    ):
        code, output = _cli(*args)
        assert code == 0, (args, output)
    code, output = _cli("backtest", "--lang", "en")
    assert code == 1 and "no sales history" in output
    assert list(tmp_path.iterdir()) == []
    # a --db that is not a URL is one clear line, not a traceback
    code, output = _cli("outbox", "list", "--db", str(tmp_path / "x.sqlite3"), "--lang", "en")
    assert code == 1 and "cannot open the database" in output
