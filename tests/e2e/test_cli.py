"""The command line: check, explain, config validate, demo — in-process and as a real process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockwatch.entrypoints.cli.app import app, sample_dir
from tests.e2e.test_cli_thresholds import START, sales_csv, shop

runner = CliRunner()
SAMPLE = sample_dir()
AS_OF = "2026-11-24"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def sample_check(*extra: str) -> tuple[int, str, str]:
    return invoke(
        "check",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--stock",
        str(SAMPLE / "stock.csv"),
        "--as-of",
        AS_OF,
        *extra,
    )


def test_check_lists_items_at_risk_worst_first_and_exits_3() -> None:
    code, out, _ = sample_check("--format", "json")
    assert code == 3
    report = json.loads(out)
    tiers = [row["tier"] for row in report["items"]]
    order = {"OUT": 0, "T3": 1, "T2": 2, "T1": 3}
    assert tiers == sorted(tiers, key=order.__getitem__)
    assert tiers[0] == "OUT" and report["items"][0]["item"] == "LED-STRIP-5M"
    rows = {row["item"]: row for row in report["items"]}
    assert "OLD-MUG" not in rows  # manual threshold 0 disables it, even at 2 units
    assert "PHONE-CASE-IP15" not in rows  # 200 in transit keep it safe
    lamp = rows["DESK-LAMP@HZ"]
    assert lamp["available"] == 25 and lamp["levels"]["T3"] <= lamp["levels"]["T2"]
    assert report["urgent"] == sum(1 for t in tiers if t in ("T2", "T3", "OUT"))


def test_check_covers_are_sorted_within_a_tier() -> None:
    _, out, _ = sample_check("--format", "json")
    items = json.loads(out)["items"]
    for tier in ("T3", "T2"):
        covers = [r["days_of_cover"] for r in items if r["tier"] == tier]
        assert covers == sorted(covers)


def test_check_prints_a_table_in_chinese_by_default_and_english_on_request() -> None:
    _, zh, _ = sample_check()
    assert "库存风险" in zh and "已断货" in zh and "共检查 14 个商品" in zh
    _, en, _ = sample_check("--lang", "en")
    assert "Items at risk" in en and "OUT of stock" in en and "Checked 14 items" in en
    # The strategy column named the core's strategies in English in zh-CN too.
    for zh_word, en_word in (
        ("再订货点", "reorder_point"),
        ("固定阈值", "fixed"),
        ("新品规则", "default"),
        ("组合", "combined"),
    ):
        assert zh_word in zh and en_word not in zh, en_word
        assert en_word in en and zh_word not in en, en_word


def test_check_exits_0_when_nothing_is_urgent(tmp_path: Path) -> None:
    stock = tmp_path / "stock.csv"
    stock.write_text("sku,on_hand\nRETRO-CLOCK,5000\nTHERMOS-500,9000\n")
    code, out, _ = invoke(
        "check",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--stock",
        str(stock),
        "--as-of",
        AS_OF,
        "--lang",
        "en",
    )
    assert code == 0
    assert "Every item is above its levels" in out


def test_bad_rows_are_reported_with_lines_and_the_rest_is_checked(tmp_path: Path) -> None:
    stock = tmp_path / "stock.csv"
    stock.write_text(
        "sku,on_hand\nRETRO-CLOCK,5\nUSB-C-CABLE-1M,many\nTHERMOS-500,\nYOGA-MAT,9000\n"
    )
    code, out, err = invoke(
        "check",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--stock",
        str(stock),
        "--as-of",
        AS_OF,
        "--lang",
        "en",
    )
    assert code == 3
    assert "RETRO-CLOCK" in out and "Checked 2 items" in out
    assert "Skipped 2 bad row(s)" in err
    assert f"{stock}:3: on_hand 'many' is not a number" in err
    assert f"{stock}:4: missing on_hand" in err


def test_a_broken_config_exits_1_listing_every_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "stockwatch.toml"
    cfg.write_text('[alerting]\ndedupe_hours = "daily"\n[thresholds]\nservice_level = 2\n')
    code, _, err = invoke("config", "validate", "--config", str(cfg))
    assert code == 1
    assert f"{cfg}:2 alerting.dedupe_hours" in err
    assert f"{cfg}:4 thresholds.service_level" in err
    assert "中有 2 个问题" in err and "应小于或等于 0.9999" in err  # zh-CN by default
    code, _, err = invoke("config", "validate", "--config", str(cfg), "--lang", "en")
    assert code == 1 and "2 problem(s)" in err
    assert "Input should be less than or equal to 0.9999" in err


def test_config_validate_accepts_the_sample() -> None:
    code, out, _ = invoke("config", "validate", "--config", str(SAMPLE / "stockwatch.toml"))
    assert code == 0 and "配置有效" in out


def test_a_missing_stock_file_exits_1_naming_it(tmp_path: Path) -> None:
    code, _, err = invoke("check", "--stock", str(tmp_path / "gone.csv"))
    assert code == 1 and "gone.csv：文件不存在" in err  # zh-CN by default (it was English)
    code, _, err = invoke("check", "--stock", str(tmp_path / "gone.csv"), "--lang", "en")
    assert code == 1 and "gone.csv: file not found" in err


def test_explain_shows_the_inputs_steps_and_result() -> None:
    code, out, _ = invoke(
        "explain",
        "RETRO-CLOCK",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    assert code == 0
    data = json.loads(out)
    inputs = data["inputs"]
    assert inputs["service_level"] == 0.99  # class A in the sample
    assert [s["label"] for s in data["steps"]] == ["SS", "ROP", "T1"]
    ss, rop, t1 = (s["value"] for s in data["steps"])
    assert data["levels"]["T3"] >= ss and data["levels"]["T2"] >= rop and data["levels"]["T1"] >= t1
    assert rop == pytest.approx(inputs["d"] * inputs["L"] + ss)


def test_explain_of_an_unknown_item_is_an_error() -> None:
    code, _, err = invoke("explain", "NO-SUCH-SKU", "--config", str(SAMPLE / "stockwatch.toml"))
    assert code == 1 and "NO-SUCH-SKU" in err


def test_explain_of_a_disabled_item() -> None:
    code, out, _ = invoke(
        "explain",
        "OLD-MUG",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--as-of",
        AS_OF,
        "--lang",
        "en",
    )
    assert code == 0 and "disabled" in out


def test_explain_in_chinese_has_chinese_notes_and_steps() -> None:
    config = str(SAMPLE / "stockwatch.toml")
    code, out, _ = invoke("explain", "OLD-MUG", "--config", config, "--as-of", AS_OF)
    assert code == 0 and "阈值已手动设为 0" in out and "threshold set to 0 by hand" not in out
    code, out, _ = invoke(
        "explain", "OLD-MUG", "--config", config, "--as-of", AS_OF, "--lang", "en"
    )
    assert code == 0 and "threshold set to 0 by hand" in out


def test_the_console_script_runs_as_a_real_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STOCKWATCH_CONFIG"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stockwatch.entrypoints.cli.app",
            "check",
            "--config",
            str(SAMPLE / "stockwatch.toml"),
            "--stock",
            str(SAMPLE / "stock.csv"),
            "--as-of",
            AS_OF,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert json.loads(proc.stdout)["checked"] == 14


def test_check_uses_the_recomputed_levels_in_the_database(tmp_path: Path) -> None:
    config, db = shop(tmp_path)
    history = sales_csv(tmp_path / "aug.csv", 60, {"ROBOT-VACUUM": 4, "BAMBOO-BRUSH": 30})
    assert invoke("sales", "import", str(history), "-c", str(config), "--db", db)[0] == 0
    as_of = str(START + timedelta(days=60))
    recompute = ("thresholds", "recompute", "-c", str(config), "--db", db, "--as-of", as_of)
    code, _, err = invoke(*recompute)
    assert code == 0, err
    stock = tmp_path / "stock.csv"
    stock.write_text(
        "sku,on_hand,observed_at\n"
        "ROBOT-VACUUM,20,2026-09-30T09:00:00+08:00\n"
        "BAMBOO-BRUSH,5000,2026-09-30T09:00:00+08:00\n",
        encoding="utf-8",
    )
    args = ["check", "-c", str(config), "-s", str(stock), "--as-of", as_of, "-f", "json", "--all"]
    code, out, _ = invoke(*args, "--db", db)
    rows = {r["item"]: r for r in json.loads(out)["items"]}
    # The sales live only in the database: its recomputed levels carry the real velocity.
    assert rows["ROBOT-VACUUM"]["levels_source"] == "database"
    assert rows["ROBOT-VACUUM"]["velocity"] == pytest.approx(4.0, rel=0.2)
    assert rows["ROBOT-VACUUM"]["tier"] != "OK" and code == 3
    assert rows["BAMBOO-BRUSH"]["tier"] == "OK"
    # Without a database (none in the data dir either) the levels are computed from the files.
    code, out, _ = invoke(*args)
    computed = {r["item"]: r for r in json.loads(out)["items"]}
    assert all(r["levels_source"] == "computed" for r in computed.values())
    # No sales file in the config: the policy's default, not the 4 a day the database knows.
    assert computed["ROBOT-VACUUM"]["velocity"] != rows["ROBOT-VACUUM"]["velocity"]


def test_config_validate_reports_every_problem_in_one_pass(tmp_path: Path) -> None:
    # Finding 15: the route's unknown channel and the missing items file came one fix later.
    cfg = tmp_path / "stockwatch.toml"
    cfg.write_text(
        '[general]\ntimezone = "Asia/Shangai"\n[catalog]\nitems = "nowhere.csv"\n'
        '[alerting]\ndebounce = { T1 = "30 minutes" }\n'
        '[[routes]]\nname = "all"\nchannels = ["ghost"]\n',
        encoding="utf-8",
    )
    code, _, err = invoke("config", "validate", "--config", str(cfg))
    assert code == 1
    assert f"{cfg}:2 general.timezone" in err and "Asia/Shanghai" in err
    assert f"{cfg}:4 catalog.items" in err
    assert "30 minutes" in err and "ghost" in err
    assert "Traceback" not in err


def test_config_validate_lists_bad_promotion_rows_by_file_line_and_field(tmp_path: Path) -> None:
    promos = tmp_path / "promotions.csv"
    promos.write_text(
        "name,start,end,multiplier,target,skus\n"
        "双12,2026-12-10,2026-12-12,2.5,demand,MAT\n"
        "年货,2027-01-20,2027-02-05,abc,,MAT\n"
        "清仓,2026-12-01,2026-11-01,0.5,,MAT\n"
        "店庆,2026/12/20,2026-12-21,2,,MAT\n"
        "空的,2026-12-20,2026-12-21,2,later,MAT\n",
        encoding="utf-8",
    )
    cfg = tmp_path / "stockwatch.toml"
    cfg.write_text('[catalog]\npromotions = "promotions.csv"\n', encoding="utf-8")
    code, out, err = invoke("config", "validate", "--config", str(cfg), "--lang", "en")
    assert code == 1, out
    assert "4 bad row(s) in the promotions file" in err
    assert f"{promos}:3 multiplier: multiplier 'abc' is not a number" in err
    assert f"{promos}:4 end: promotion '清仓' ends before it starts" in err
    assert f"{promos}:5 start: start '2026/12/20' is not a date" in err
    assert f"{promos}:6 target: promotion '空的' target must be" in err
    code, _, err = invoke("config", "validate", "--config", str(cfg))
    assert code == 1 and "促销文件中有 4 行无效" in err
    promos.write_text("name,start,end,multiplier,skus\nx,2026-12-10,2026-12-12,2,MAT\n", "utf-8")
    code, out, _ = invoke("config", "validate", "--config", str(cfg), "--lang", "en")
    assert code == 0 and "Configuration is valid" in out
    promos.unlink()  # a promotions file that is not there is the configuration's own problem
    code, _, err = invoke("config", "validate", "--config", str(cfg), "--lang", "en")
    assert code == 1 and f"{cfg}:2 catalog.promotions: file not found" in err
    code, _, err = invoke("config", "validate", "--config", str(cfg))
    assert code == 1 and f"{cfg}:2 catalog.promotions: 文件不存在：{promos}" in err


def test_run_on_a_busy_port_prints_one_clear_line(tmp_path: Path) -> None:
    # Finding 15: a 40-line traceback.
    (tmp_path / "stock.csv").write_text("sku,on_hand\nDESK-LAMP,5\n", encoding="utf-8")
    cfg = tmp_path / "stockwatch.toml"
    cfg.write_text('[general]\nlang = "en"\n[daemon]\nstock_file = "stock.csv"\n', encoding="utf-8")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "stockwatch.entrypoints.cli.app",
                "run",
                "--config",
                str(cfg),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if f"127.0.0.1:{port}" in x]
    assert line.startswith("error: cannot listen") and "--port" in line


def test_unknown_columns_are_warned_about_by_check(tmp_path: Path) -> None:
    # Finding 17: a column stockwatch does not read must never be dropped silently.
    stock = tmp_path / "stock.csv"
    stock.write_text("sku,on_hand,reserved_qty\nDESK-LAMP,5,3\n", encoding="utf-8")
    _, _, err = invoke("check", "--stock", str(stock), "--lang", "en")
    assert "'reserved_qty' is not recognised" in err


def test_config_sections_in_help_and_errors_are_not_eaten_as_markup(tmp_path: Path) -> None:
    # Finding 19: Rich swallowed "[database]" and "[catalog]" as markup.
    code, out, _ = invoke("thresholds", "recompute", "--help")
    assert "[database] url" in " ".join(out.split())
    cfg = tmp_path / "stockwatch.toml"
    cfg.write_text('[general]\nlang = "en"\n', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    code, _, err = invoke("thresholds", "recompute", "--config", str(cfg), "--db", db)
    assert code == 1 and "set [catalog] items" in err


def test_version_is_printed() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.strip().startswith("stockwatch 0.")


def test_check_without_a_config_says_it_uses_built_in_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Finding 18: the built-in defaults were used silently.
    monkeypatch.delenv("STOCKWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    stock = tmp_path / "stock.csv"
    stock.write_text("sku,on_hand\nDESK-LAMP,5\n", encoding="utf-8")
    _, _, err = invoke("check", "--stock", str(stock), "--lang", "en")
    assert "using built-in defaults" in err


def test_explain_asks_which_warehouse_when_a_sku_has_several() -> None:
    # Finding 18: `explain DESK-LAMP` ran with the wrong inputs.
    code, _, err = invoke("explain", "DESK-LAMP", "--config", str(SAMPLE / "stockwatch.toml"))
    assert code == 1
    assert "DESK-LAMP@GZ, DESK-LAMP@HZ" in err


def test_check_reports_duplicate_rows_and_items_missing_from_the_catalogue(
    tmp_path: Path,
) -> None:
    # Finding 18: a duplicated row was counted twice; unknown SKUs went unmentioned.
    stock = tmp_path / "stock.csv"
    stock.write_text(
        "sku,warehouse,on_hand\nDESK-LAMP,HZ,300\nDESK-LAMP,HZ,300\nGHOST-SKU,,4\n",
        encoding="utf-8",
    )
    _, out, err = invoke(
        "check",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--stock",
        str(stock),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    report = json.loads(out)
    assert report["checked"] == 2
    assert [row["line"] for row in report["skipped_rows"]] == [3]
    assert "duplicate row for DESK-LAMP@HZ (first on line 2)" in report["skipped_rows"][0]["error"]
    assert "GHOST-SKU" in err and "不在商品目录中" in err
    # The table report tells the row problem in the shop's language too (it was English only).
    _, _, err = invoke(
        "check",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--stock",
        str(stock),
        "--as-of",
        AS_OF,
    )
    assert "DESK-LAMP@HZ 的重复行（首次出现在第 2 行" in err and "duplicate row" not in err
    _, _, err = invoke(
        "check",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--stock",
        str(stock),
        "--as-of",
        AS_OF,
        "--lang",
        "en",
    )
    assert "duplicate row for DESK-LAMP@HZ (first on line 2)" in err


def test_explain_policy_line_shows_the_items_own_lead_time() -> None:
    # Finding 21: the policy line showed the configured default lead time, not the item's.
    code, out, _ = invoke(
        "explain",
        "DESK-LAMP@HZ",
        "--config",
        str(SAMPLE / "stockwatch.toml"),
        "--as-of",
        AS_OF,
        "--lang",
        "en",
    )
    assert code == 0
    assert "lead_time_days=8 " in out


def test_help_lists_every_command_though_their_modules_load_lazily() -> None:
    from stockwatch.entrypoints.cli.app import LAZY_COMMANDS, LAZY_GROUPS

    code, out, _ = invoke("--help")
    assert code == 0
    listed = {line.split()[0] for line in out.split("命令：", 1)[1].splitlines() if line}
    assert {"check", "explain", "demo", "config", *LAZY_COMMANDS, *LAZY_GROUPS} <= listed
    # each lazy name is really registered by the module its entry loads
    for name in [*LAZY_COMMANDS, *LAZY_GROUPS]:
        code, out, _ = invoke(name, "--help")
        assert code == 0, (name, out)
        assert f"stockwatch {name}" in out


def test_the_lazy_table_names_exactly_what_the_modules_register() -> None:
    import typer

    from stockwatch.entrypoints.cli.app import LAZY_COMMANDS, LAZY_GROUPS

    into = typer.Typer()
    for register in dict.fromkeys([*LAZY_COMMANDS.values(), *LAZY_GROUPS.values()]):
        register(into)
    names = set(typer.main.get_group(into).commands)
    assert names == {*LAZY_COMMANDS, *LAZY_GROUPS}  # a new command needs its line there


def test_a_mistyped_command_still_gets_a_suggestion() -> None:
    result = runner.invoke(app, ["thresholdz"])
    assert result.exit_code == 2
    assert "你是不是要输入 'thresholds'？" in result.stderr
    result = runner.invoke(app, ["--lang", "en", "thresholdz"])
    assert result.exit_code == 2
    assert "Did you mean 'thresholds'?" in result.stderr


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    shown = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(shown.stdout.split())


def test_the_cli_imports_no_subcommand_module_until_one_is_invoked() -> None:
    loaded = _modules_after("import stockwatch.entrypoints.cli.app")
    commands = {m for m in loaded if m.startswith("stockwatch.entrypoints.cli.")}
    assert commands <= {
        "stockwatch.entrypoints.cli.app",
        "stockwatch.entrypoints.cli.common",
        "stockwatch.entrypoints.cli.texts",
        "stockwatch.entrypoints.cli.help_texts",  # --help's zh-CN texts: no command in it
        "stockwatch.entrypoints.cli.option_texts",  # the options' zh-CN help texts
        "stockwatch.entrypoints.cli.framework_texts",  # Typer/click's own lines in zh-CN
    }
    assert not loaded & {"fastapi", "uvicorn", "numpy", "celery", "pyarrow"}


def test_stockwatch_run_starts_without_numpy_celery_pyarrow_or_alembic() -> None:
    # What `stockwatch run` imports before it serves HTTP; each of these cost its start time
    # (alembic loads only when the database is behind: see test_migrations).
    loaded = _modules_after(
        "import stockwatch.entrypoints.cli.app, stockwatch.entrypoints.cli.daemon"
    )
    assert "stockwatch.entrypoints.daemon" in loaded
    assert not loaded & {"numpy", "celery", "pyarrow", "alembic", "stockwatch.bulk.sweep"}


def test_explain_shows_the_rate_orders_are_sized_from_in_both_languages() -> None:
    config = str(SAMPLE / "stockwatch.toml")
    code, out, _ = invoke("explain", "RETRO-CLOCK", "--config", config, "--as-of", AS_OF)
    assert code == 0 and "补货量按日销 d_order = " in out and "不含促销提升" in out
    code, out, _ = invoke(
        "explain", "RETRO-CLOCK", "--config", config, "--as-of", AS_OF, "--lang", "en"
    )
    assert code == 0 and "Orders are sized at d_order = " in out
    code, out, _ = invoke(
        "explain", "RETRO-CLOCK", "--config", config, "--as-of", AS_OF, "--format", "json"
    )
    inputs = json.loads(out)["inputs"]
    assert inputs["d_order"] > 0 and inputs["d_order"] != inputs["velocity7"]
