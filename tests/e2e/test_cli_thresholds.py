"""``stockwatch sales import``, ``thresholds recompute|review`` and ``explain`` with versions."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tables import metadata
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.config.settings import load_config
from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.compose import LevelCache, threshold_recompute

runner = CliRunner()
START = date(2026, 8, 1)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def shop(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "items.csv").write_text(
        "sku,title,class,lead_time_days\n"
        "ROBOT-VACUUM,扫地机器人,A,7\n"
        "BAMBOO-BRUSH,竹牙刷,C,5\n"
        "FOLDING-KITE,折叠风筝,B,\n",
        encoding="utf-8",
    )
    (tmp_path / "stockwatch.toml").write_text(
        '[general]\nlang = "en"\n[catalog]\nitems = "items.csv"\n'
        "[thresholds]\nreview_factor = 3.0\nwindow_days = 60\n",
        encoding="utf-8",
    )
    return tmp_path / "stockwatch.toml", f"sqlite+pysqlite:///{tmp_path / 'sw.sqlite3'}"


def sales_csv(path: Path, days: int, per_day: dict[str, int], start: date = START) -> Path:
    lines = ["date,sku,quantity,order_id"]
    for d in range(days):
        for sku, qty in per_day.items():
            lines.append(f"{start + timedelta(days=d)},{sku},{qty},{sku}-{start}-{d}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_recompute_review_and_explain_end_to_end(tmp_path: Path) -> None:
    config, db = shop(tmp_path)
    common = ("--config", str(config), "--db", db)
    first = sales_csv(tmp_path / "aug.csv", 60, {"ROBOT-VACUUM": 4, "BAMBOO-BRUSH": 30})
    with first.open("a", encoding="utf-8") as fh:
        fh.write("2026-08-02,GHOST-ITEM,1,X1\n2026-08-03,BAMBOO-BRUSH,-3,X2\n")
    code, out, err = invoke("sales", "import", str(first), *common)
    assert code == 0, err
    assert "120 SKU-day totals, 2 rows skipped" in out
    assert "line 122" in err and "GHOST-ITEM" in err and "line 123" in err
    code, out, _ = invoke("sales", "import", str(first), *common)
    assert code == 0 and "already imported" in out

    as_of = str(START + timedelta(days=60))
    code, out, err = invoke("thresholds", "recompute", *common, "--as-of", as_of)
    assert code == 0, err
    assert "Computed 3 items: 3 applied, 0 waiting for review" in out
    assert "Next scheduled recompute" in out

    # September: the robot vacuum goes viral (×10), the brush sells a little more
    sept = START + timedelta(days=60)
    second = sales_csv(
        tmp_path / "sep.csv", 30, {"ROBOT-VACUUM": 40, "BAMBOO-BRUSH": 33}, start=sept
    )
    assert invoke("sales", "import", str(second), *common)[0] == 0
    later = str(sept + timedelta(days=30))
    code, out, err = invoke("thresholds", "recompute", *common, "--as-of", later)
    assert code == 0, err
    assert "1 applied, 1 waiting for review, 1 unchanged" in out

    code, out, _ = invoke("thresholds", "review", *common)
    assert code == 0 and "ROBOT-VACUUM" in out and "BAMBOO-BRUSH" not in out

    code, out, _ = invoke("explain", "ROBOT-VACUUM", *common, "--as-of", later, "-f", "json")
    stored = json.loads(out)["stored"]
    assert stored["status"] == "review" and stored["version"] == 2
    assert any(c.startswith("T2: ") for c in stored["changes"])
    assert any("waiting for review" in c for c in stored["changes"])

    code, out, _ = invoke("thresholds", "review", *common, "--approve", "ROBOT-VACUUM")
    assert code == 0 and "ROBOT-VACUUM version 2 is now active" in out
    code, out, _ = invoke("thresholds", "review", *common, "--approve", "ROBOT-VACUUM:2")
    assert code == 0  # nothing pending any more: reported, not fatal
    code, out, _ = invoke("explain", "ROBOT-VACUUM", *common, "--as-of", later)
    assert code == 0 and "Stored version 2 (active" in out and "Since version 1" in out


def test_a_parquet_file_imports_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    config, db = shop(tmp_path)
    common = ("--config", str(config), "--db", db)
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table(
            {
                "date": pa.array([START, START, START], pa.date32()),
                "sku": ["FOLDING-KITE", "FOLDING-KITE", "UFO"],
                "quantity": pa.array([2, 3, 1], pa.int64()),
            }
        ),
        path,
    )
    code, out, err = invoke("sales", "import", str(path), *common)
    assert code == 0 and "1 SKU-day totals, 1 rows skipped" in out and "row 3" in err
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet at all")
    code, _, err = invoke("sales", "import", str(bad), *common)
    assert code == 1 and "broken.parquet" in err


def test_recompute_without_items_or_sales_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "stockwatch.toml").write_text('[general]\nlang = "en"\n', encoding="utf-8")
    code, _, err = invoke(
        "thresholds",
        "recompute",
        "--config",
        str(tmp_path / "stockwatch.toml"),
        "--db",
        f"sqlite+pysqlite:///{tmp_path / 'x.sqlite3'}",
    )
    assert code == 1 and "No items" in err


def test_without_db_the_commands_use_the_configured_database_not_a_private_file(
    tmp_path: Path,
) -> None:
    config, _ = shop(tmp_path)
    shared = tmp_path / "shared.sqlite3"
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'[database]\nurl = "sqlite+pysqlite:///{shared}"\n')
    sales = sales_csv(tmp_path / "aug.csv", 20, {"ROBOT-VACUUM": 4})
    code, _, err = invoke("sales", "import", str(sales), "--config", str(config))
    assert code == 0, err
    # The daemon, `outbox` and `thresholds` all open [database] url: one database, migrated.
    assert shared.exists() and not (tmp_path / ".stockwatch" / "stockwatch.sqlite3").exists()
    code, out, _ = invoke("outbox", "list", "--config", str(config), "-f", "json")
    assert code == 0 and json.loads(out) == []


def test_recompute_without_imported_sales_refuses_to_replace_good_levels(tmp_path: Path) -> None:
    # Finding 16: with no sales, recompute replaced RETRO-CLOCK's T2 (254 → 39) by the new-item
    # rule. The CLI and the daemon's scheduled recompute now refuse alike once levels exist; a
    # fresh shop with no levels yet gets the new-item rule (it replaces nothing).
    config, db = shop(tmp_path)
    common = ("--config", str(config), "--db", db)
    code, out, err = invoke("thresholds", "recompute", *common, "--as-of", "2026-10-01")
    assert code == 0 and "Computed 3 items" in out
    code, out, err = invoke("thresholds", "recompute", *common, "--as-of", "2026-10-02")
    assert code == 1 and "No sales have been imported" in err
    code, out, err = invoke(
        "thresholds", "recompute", *common, "--as-of", "2026-10-02", "--allow-no-sales"
    )
    assert code == 0 and "Computed 3 items" in out


def test_the_scheduled_recompute_refuses_without_sales_too(tmp_path: Path) -> None:
    from stockwatch.service.recompute import NoSalesHistory, recompute

    cfg = load_config(shop(tmp_path)[0], env={})
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'sw.sqlite3'}")
    metadata.create_all(engine)
    store = SqlStore(engine)
    cache = LevelCache(cfg, date(2026, 10, 1))
    run = threshold_recompute(cfg, store, cache)
    # the first start: no sales, no levels: the new-item rule is all there is
    assert asyncio.run(run(datetime(2026, 10, 1, tzinfo=UTC))) is not None
    first = SqlThresholdStore(engine).current(["ROBOT-VACUUM"])
    assert set(first) == {"ROBOT-VACUUM"}
    # levels exist now: the scheduled recompute skips rather than replace them
    assert asyncio.run(run(datetime(2026, 10, 2, tzinfo=UTC))) is None
    assert SqlThresholdStore(engine).current(["ROBOT-VACUUM"]) == first
    with pytest.raises(NoSalesHistory):
        recompute(
            ["ROBOT-VACUUM"],
            date(2026, 10, 2),
            lambda k, d: [],
            SqlThresholdStore(engine),
            datetime(2026, 10, 2, tzinfo=UTC),
            has_sales=False,
        )
    engine.dispose()


def test_the_first_scheduled_recompute_uses_the_configured_sales_file(tmp_path: Path) -> None:
    # #11 item 16 (daemon side): with `[catalog] sales` set and nothing imported yet, the
    # daemon's first recompute stored the new-item rule (d = 3) over the file's history, so the
    # demo ran on RETRO-CLOCK T2 39 instead of 254 and warned too late.
    config, _ = shop(tmp_path)
    sales_csv(tmp_path / "history.csv", 60, {"ROBOT-VACUUM": 40, "BAMBOO-BRUSH": 30})
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('items = "items.csv"', 'items = "items.csv"\nsales = "history.csv"'),
        encoding="utf-8",
    )
    cfg = load_config(config, env={})
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'sw.sqlite3'}")
    metadata.create_all(engine)
    run = threshold_recompute(cfg, SqlStore(engine), LevelCache(cfg, date(2026, 10, 1)))
    assert asyncio.run(run(datetime(2026, 10, 1, tzinfo=UTC))) is not None
    stored = SqlThresholdStore(engine).current(["ROBOT-VACUUM"])["ROBOT-VACUUM"]
    assert stored.active is not None
    assert stored.active.levels.t2 > 200  # from the file's ~40 a day; the new-item rule gave 14
    # the file is imported once: a second recompute finds it in the database, nothing doubles
    assert asyncio.run(run(datetime(2026, 10, 2, tzinfo=UTC))) is not None
    again = SqlThresholdStore(engine).current(["ROBOT-VACUUM"])["ROBOT-VACUUM"]
    assert again.active is not None and again.active.levels == stored.active.levels
    engine.dispose()


def test_review_approve_all_and_an_unknown_item_exits_1(tmp_path: Path) -> None:
    # Finding 16: `--approve NOPE` exited 0; there was no --approve-all.
    config, db = shop(tmp_path)
    common = ("--config", str(config), "--db", db)
    first = sales_csv(tmp_path / "aug.csv", 60, {"ROBOT-VACUUM": 4, "BAMBOO-BRUSH": 30})
    assert invoke("sales", "import", str(first), *common)[0] == 0
    assert invoke("thresholds", "recompute", *common, "--as-of", "2026-09-30")[0] == 0
    sept = START + timedelta(days=60)
    second = sales_csv(
        tmp_path / "sep.csv", 30, {"ROBOT-VACUUM": 40, "BAMBOO-BRUSH": 300}, start=sept
    )
    assert invoke("sales", "import", str(second), *common)[0] == 0
    later = str(sept + timedelta(days=30))
    code, out, _ = invoke("thresholds", "recompute", *common, "--as-of", later)
    assert "2 waiting for review" in out
    code, _, err = invoke("thresholds", "review", *common, "--approve", "NOPE")
    assert code == 1 and "NOPE has nothing waiting for review" in err
    assert "?" not in err  # no placeholder for a version that does not exist
    code, out, _ = invoke("thresholds", "review", *common, "--approve-all")
    assert code == 0
    assert "ROBOT-VACUUM version 2 is now active" in out
    assert "BAMBOO-BRUSH version 2 is now active" in out
    code, out, _ = invoke("thresholds", "review", *common)
    assert "No thresholds are waiting for review" in out


def test_explain_shows_a_fill_rate_target_and_the_order_it_is_sized_for(tmp_path: Path) -> None:
    config, db = shop(tmp_path)
    config.write_text(
        config.read_text(encoding="utf-8") + "fill_rate = 0.99\norder_cycle_days = 30\n",
        encoding="utf-8",
    )
    common = ("--config", str(config), "--db", db)
    sales = sales_csv(tmp_path / "aug.csv", 60, {"ROBOT-VACUUM": 4, "BAMBOO-BRUSH": 30})
    assert invoke("sales", "import", str(sales), *common)[0] == 0
    as_of = str(START + timedelta(days=60))
    assert invoke("thresholds", "recompute", *common, "--as-of", as_of)[0] == 0
    code, out, err = invoke("explain", "BAMBOO-BRUSH", *common, "--as-of", as_of)
    assert code == 0, err
    assert "fill_rate=0.99 order_cycle_days=30" in out
    assert "fill-rate target β 0.99" in out and "Q 900.0" in out  # 30/day × 30 days
    code, out, err = invoke("explain", "BAMBOO-BRUSH", *common, "--as-of", as_of, "--lang", "zh")
    assert code == 0, err
    assert "满足率目标 β 0.99" in out


def test_explain_in_zh_cn_words_status_strategy_and_inputs_in_chinese(tmp_path: Path) -> None:
    # A reviewer saw "已保存第 2 版（active，…）", "策略: default → reorder_point" and inputs
    # named history_days, velocity7, d_order in the default language.
    config, db = shop(tmp_path)
    common = ("--config", str(config), "--db", db)
    week = sales_csv(tmp_path / "week.csv", 7, {"BAMBOO-BRUSH": 30})  # a new item: default
    assert invoke("sales", "import", str(week), *common)[0] == 0
    as_of = START + timedelta(days=7)
    assert invoke("thresholds", "recompute", *common, "--as-of", str(as_of))[0] == 0
    rest = sales_csv(tmp_path / "rest.csv", 53, {"BAMBOO-BRUSH": 30}, start=as_of)
    assert invoke("sales", "import", str(rest), *common)[0] == 0
    later = str(START + timedelta(days=60))
    assert invoke("thresholds", "recompute", *common, "--as-of", later)[0] == 0
    assert invoke("thresholds", "review", *common, "--approve-all")[0] == 0
    code, out, err = invoke("explain", "BAMBOO-BRUSH", *common, "--as-of", later, "--lang", "zh")
    assert code == 0, err
    assert "已保存第 2 版（生效中，" in out and "active" not in out
    assert "策略：新品规则 → 再订货点" in out and "(策略：新品规则)" in out
    for zh in (
        "销量历史天数：7 → 60",
        "近期日均销速",
        "补货用日均销量（d_order）",
        "日均需求（d̄）：",
    ):
        assert zh in out, zh
    for english in ("default", "reorder_point", "history_days", "velocity7", "sd "):
        assert english not in out, english
    code, out, err = invoke("explain", "BAMBOO-BRUSH", *common, "--as-of", later, "--lang", "en")
    assert code == 0, err
    assert "Stored version 2 (active," in out and "strategy: default → reorder_point" in out
    assert "history_days: 7 → 60" in out and "velocity7" in out and "(Strategy: default)" in out
